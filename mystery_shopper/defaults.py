"""The default scorecard and scenario scripts (from the seeds, 002_*.txt), as plain data.

Used by the data migration (every new database has them) and by tests.

Seed 002: 神秘顾客分数 = 购药评定分 + 问病卖药流程分; the purchase evaluation covers 对症意识
(现病史, 既往史), 营销意识 and 联合用药 (专业性, 合理性). Each history-taking point is asked once:
the present and past history are the purchase evaluation's symptom-awareness items, so the
process section does not ask for the medical history again (migration 0003 made that change
as a new version of existing databases' card; its 5 points went to the ask-then-dispense item,
so the process stays at 30 points: purchase 50 + process 30 = the 80 points of the
mystery-shopper score, store image 20 beside it).
"""

from __future__ import annotations

DEFAULT_SCORECARD = {
    "code": "default", "name_zh": "神秘顾客情景调查评分表", "name_en": "Mystery-shopper scorecard",
    "red_line_score": 0,
    "sections": [
        {"title_zh": "门店形象", "title_en": "Store image", "items": [
            {"code": "signboard", "text_zh": "招牌是否明亮、干净",
             "text_en": "Signboard bright and clean", "kind": "yes_no", "max_points": 5,
             "part": "image", "evidence": "photo"},
            {"code": "uniform", "text_zh": "员工是否统一工装",
             "text_en": "Staff wear the uniform", "kind": "yes_no", "max_points": 5,
             "part": "image"},
            {"code": "polite_greeting", "text_zh": "礼貌用语：迎客", "kind": "yes_no",
             "text_en": "Polite phrase: greeting", "max_points": 2.5, "part": "image"},
            {"code": "polite_purchase", "text_zh": "礼貌用语：购物", "kind": "yes_no",
             "text_en": "Polite phrase: purchase", "max_points": 2.5, "part": "image"},
            {"code": "polite_checkout", "text_zh": "礼貌用语：收银", "kind": "yes_no",
             "text_en": "Polite phrase: checkout", "max_points": 2.5, "part": "image"},
            {"code": "polite_farewell", "text_zh": "礼貌用语：送客", "kind": "yes_no",
             "text_en": "Polite phrase: farewell", "max_points": 2.5, "part": "image"},
        ]},
        {"title_zh": "购药评定", "title_en": "Purchase evaluation", "items": [
            {"code": "asks_present_history", "text_zh": "对症意识：询问现病史",
             "text_en": "Symptom awareness: asks the present history", "kind": "points",
             "max_points": 10, "part": "purchase", "evidence": "audio"},
            {"code": "asks_past_history", "text_zh": "对症意识：询问既往史",
             "text_en": "Symptom awareness: asks the past history", "kind": "points",
             "max_points": 10, "part": "purchase"},
            {"code": "marketing_awareness", "text_zh": "营销意识（关联推荐、疗程用药）",
             "text_en": "Marketing awareness (associated items, course of treatment)",
             "kind": "points", "max_points": 10, "part": "purchase"},
            {"code": "combination_professional", "text_zh": "联合用药：专业性",
             "text_en": "Combination medication: professional", "kind": "points",
             "max_points": 10, "part": "purchase"},
            {"code": "combination_rational", "text_zh": "联合用药：合理性",
             "text_en": "Combination medication: rational", "kind": "points",
             "max_points": 10, "part": "purchase"},
        ]},
        {"title_zh": "问病卖药流程", "title_en": "Ask-then-dispense process", "items": [
            {"code": "asks_allergies", "text_zh": "用药咨询：询问过敏史",
             "text_en": "Counselling: asks about allergies", "kind": "yes_no",
             "max_points": 5, "part": "process"},
            {"code": "checks_combinations", "text_zh": "用药咨询：核对联合用药",
             "text_en": "Counselling: checks drug combinations", "kind": "yes_no",
             "max_points": 5, "part": "process"},
            {"code": "states_contraindications", "text_zh": "用药咨询：说明禁忌",
             "text_en": "Counselling: states contraindications", "kind": "yes_no",
             "max_points": 5, "part": "process"},
            {"code": "ask_then_dispense", "text_zh": "先问病、后发药的流程完整",
             "text_en": "Asks first, then dispenses: the process is complete",
             "kind": "points", "max_points": 15, "part": "process"},
        ]},
        {"title_zh": "红线项目", "title_en": "Red lines", "items": [
            {"code": "pharmacist_on_duty", "text_zh": "执业药师在岗",
             "text_en": "A licensed pharmacist is on duty", "kind": "yes_no", "max_points": 0,
             "part": "process", "is_red_line": True},
            {"code": "rx_with_prescription", "text_zh": "处方药凭处方销售",
             "text_en": "Prescription-only medicine sold only with a prescription",
             "kind": "yes_no", "max_points": 0, "part": "process", "is_red_line": True},
        ]},
    ],
}

DEFAULT_SCENARIOS = [
    {"code": "cold-cough", "title_zh": "感冒伴咳嗽", "title_en": "A cold with a cough",
     "script_zh": "我感冒三天了，嗓子疼，还咳嗽有痰，想买点药。",
     "script_en": "I've had a cold for three days, a sore throat and a chesty cough."},
    {"code": "eye-discomfort", "title_zh": "眼睛不适", "title_en": "Eye discomfort",
     "script_zh": "最近眼睛干涩发红，看电脑久了更难受，有什么眼药水？",
     "script_en": "My eyes are dry and red, worse after screen work; which eye drops?"},
    {"code": "stomach-ache", "title_zh": "胃痛", "title_en": "Stomach ache",
     "script_zh": "饭后胃胀痛，有时反酸，想买点胃药。",
     "script_en": "Bloating and pain after meals, sometimes acid reflux."},
]
