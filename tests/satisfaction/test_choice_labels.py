"""Every choice label of the project, rendered in Chinese, against a reviewed table.

Django merges every app's catalogue: one English msgid gets one translation everywhere, so a
status "Open" once read 开放时间 (opening hours) and "Submitted" 提交时间 (submission time).
The labels that share an English word with another meaning carry a context
(``pgettext_lazy("action status", "Open")``); this test keeps it so. The table below is the
review: each label read as a pharmacy chain's store manager reads it. A new choice, a label
left in English or a changed translation fails here until the table is reviewed again.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

from django.apps import apps
from django.db import models
from django.utils import translation

OUR_APPS = ("satisfaction", "surveys", "mystery_shopper", "complaints", "scoring", "dashboard",
            "pos")
SKIPPED_MODULES = ("migrations", "management", "settings", "wsgi", "asgi", "celery")

# "app.Model.field" for a model field with choices, "module.Class" for a Choices class.
REVIEWED = {
    "satisfaction.Employee.role": {
        "clerk": "店员",
        "pharmacist": "药师",
        "store_manager": "店长",
    },
    "satisfaction.User.role": {
        "hq_admin": "总部客户关系部",
        "regional_manager": "区域经理",
        "store_manager": "店长",
        "clerk": "店员 / 药师",
        "mystery_shopper": "神秘顾客",
        "hr": "人力资源",
        "department_head": "总部部门负责人",
    },
    "satisfaction.AppealWindow.kind": {
        "complaint": "投诉定级",
        "mystery_shopper": "神秘顾客报告",
    },
    "satisfaction.Delivery.channel": {
        "email": "邮件",
        "webhook": "Webhook 推送",
    },
    "satisfaction.Delivery.state": {
        "pending": "待发送",
        "sent": "已发送",
        "failed": "失败",
    },
    "satisfaction.Job.state": {
        "queued": "等待中",
        "running": "运行中",
        "done": "已完成",
        "failed": "失败",
    },
    "surveys.Indicator.kano": {
        "time": "时间（基本需求）",
        "quality": "质量（基本需求）",
        "price": "价格（基本需求）",
        "respect": "尊重（魅力需求）",
        "care": "关怀（魅力需求）",
    },
    "surveys.Indicator.kano_class": {
        "basic": "基本型",
        "performance": "期望型",
        "delight": "魅力型",
    },
    "surveys.Indicator.group": {
        "goods": "商品",
        "store": "门店",
        "service": "服务",
    },
    "surveys.Campaign.scale_max": {
        5: "1–5 分",
        10: "1–10 分",
    },
    "surveys.Invitation.channel": {
        "receipt": "打印小票",
        "sms": "短信",
        "wechat": "微信",
        "staff": "店员发放",
    },
    "surveys.Response.channel": {
        "qr": "门店二维码",
        "receipt": "小票邀请",
        "paper": "纸质问卷（商圈调查）",
        "phone": "电话访问",
    },
    "surveys.Response.status": {
        "counted": "计入结果",
        "flagged": "已标记，待总部审核",
        "cleared": "总部已放行",
        "rejected": "总部已剔除",
    },
    "surveys.StoreFlag.status": {
        "open": "待处理",
        "cleared": "已放行",
        "confirmed": "确认造假",
    },
    "mystery_shopper.ScorecardItem.kind": {
        "yes_no": "是 / 否",
        "points": "0 至 N 分",
    },
    "mystery_shopper.ScorecardItem.part": {
        "image": "门店形象",
        "purchase": "购药评定",
        "process": "问病卖药流程",
    },
    "mystery_shopper.ScorecardItem.evidence": {
        "": "无",
        "photo": "照片",
        "audio": "录音",
    },
    "mystery_shopper.Visit.status": {
        "unassigned": "未分派",
        "assigned": "已分派",
        "draft": "填写中",
        "submitted": "已提交",
        "returned": "已退回",
        "approved": "已审核通过",
        "cancelled": "已取消",
    },
    "mystery_shopper.Evidence.kind": {
        "photo": "照片",
        "audio": "录音",
    },
    "mystery_shopper.Appeal.status": {
        "open": "待裁决",
        "upheld": "维持原报告",
        "changed": "已更正",
    },
    "mystery_shopper.VisitReminder.stage": {
        "due_soon": "3 天内到期",
        "overdue": "已逾期",
    },
    "complaints.GradePolicy.grade": {
        "A": "A – 最严重",
        "B": "B – 严重",
        "C": "C – 一般",
    },
    "complaints.Complaint.kind": {
        "customer": "顾客投诉",
        "internal": "内部投诉",
    },
    "complaints.Complaint.channel": {
        "in_store": "门店当面",
        "phone": "电话",
        "letter": "信函",
        "web": "网络",
        "fax": "传真",
        "pos": "收银系统",
        "other": "其他",
    },
    "complaints.Complaint.source": {
        "staff": "员工",
        "public": "顾客网页表单",
        "api": "其他系统（API）",
    },
    "complaints.Complaint.category": {
        "product_quality": "商品质量",
        "service_attitude": "服务态度",
        "professional_advice": "专业建议 / 疗效",
        "price": "价格",
        "environment": "购物环境",
        "assortment": "品种不全",
        "other": "其他",
    },
    "complaints.Complaint.grade": {
        "A": "A – 最严重",
        "B": "B – 严重",
        "C": "C – 一般",
    },
    "complaints.Complaint.responsibility": {
        "own_store": "本门店",
        "other_department": "其他部门",
        "grey_zone": "灰色地带（上报裁决）",
    },
    "complaints.Complaint.status": {
        "new": "新建",
        "assigned": "已分派",
        "in_progress": "处理中",
        "waiting_customer": "等待顾客回复",
        "resolved": "已解决",
        "closed": "已结案",
        "reopened": "已重开",
    },
    "complaints.ComplaintProduct.patient_age_band": {
        "0": "1岁以下",
        "1-17": "1–17岁",
        "18-64": "18–64岁",
        "65+": "65岁及以上",
        "unknown": "不详",
    },
    "complaints.ComplaintProduct.patient_sex": {
        "female": "女",
        "male": "男",
        "unknown": "不详",
    },
    "complaints.ComplaintProduct.reaction_outcome": {
        "recovered": "痊愈",
        "recovering": "好转",
        "not_recovered": "未好转",
        "sequelae": "有后遗症",
        "death": "死亡",
        "unknown": "未知",
    },
    "complaints.Appeal.kind": {
        "grade": "等级",
        "substantiation": "是否属实",
    },
    "complaints.Appeal.requested_grade": {
        "A": "A – 最严重",
        "B": "B – 严重",
        "C": "C – 一般",
    },
    "complaints.Appeal.status": {
        "open": "待裁决",
        "accepted": "成立",
        "rejected": "驳回",
    },
    "complaints.SlaAlert.kind": {
        "first_response": "首次响应超时",
        "warn": "即将超时",
        "escalate": "已超时并升级",
        "recurrence": "再发生复查到期",
    },
    "complaints.ComplaintSpike.scope": {
        "store": "门店",
        "region": "区域",
    },
    "complaints.ComplaintSpike.category": {
        "product_quality": "商品质量",
        "service_attitude": "服务态度",
        "professional_advice": "专业建议 / 疗效",
        "price": "价格",
        "environment": "购物环境",
        "assortment": "品种不全",
        "other": "其他",
    },
    "scoring.Scheme.missing_component": {
        "rescale": "按比例折算：由另一部分承担其分值",
        "zero": "记零分：缺失部分按 0 分计",
    },
    "scoring.Scheme.missing_part": {
        "store": "该部分取门店值（加标记）",
        "zero": "按 0 分计（加标记）",
    },
    "scoring.Rollup.status": {
        "provisional": "暂定",
        "published": "已发布（锁定）",
        "superseded": "已被替代",
    },
    "scoring.RevisionInput.kind": {
        1: "问卷答卷",
        2: "神秘顾客暗访",
        3: "投诉",
    },
    "dashboard.ImprovementAction.source": {
        "indicator": "薄弱指标",
        "complaint": "投诉规律",
        "mystery_shopper": "神秘顾客发现的问题",
        "other": "其他",
    },
    "dashboard.ImprovementAction.status": {
        "open": "进行中",
        "done": "已完成，待下季度复盘",
        "reviewed": "已复盘",
    },
    "dashboard.MonthlyReportSent.scope": {
        "chain": "全连锁",
        "region": "区域",
        "store": "门店",
    },
    "dashboard.ImprovementAction.outcome": {
        "improved": "已改善",
        "unchanged": "无明显变化",
        "worse": "变差",
        "no_data": "无数据可比",
    },
    "satisfaction.models.EmployeeRole": {
        "clerk": "店员",
        "pharmacist": "药师",
        "store_manager": "店长",
    },
    "satisfaction.models.Role": {
        "hq_admin": "总部客户关系部",
        "regional_manager": "区域经理",
        "store_manager": "店长",
        "clerk": "店员 / 药师",
        "mystery_shopper": "神秘顾客",
        "hr": "人力资源",
        "department_head": "总部部门负责人",
    },
    "satisfaction.models.AppealWindowKind": {
        "complaint": "投诉定级",
        "mystery_shopper": "神秘顾客报告",
    },
    "satisfaction.models.DeliveryChannel": {
        "email": "邮件",
        "webhook": "Webhook 推送",
    },
    "satisfaction.models.DeliveryState": {
        "pending": "待发送",
        "sent": "已发送",
        "failed": "失败",
    },
    "satisfaction.models.JobState": {
        "queued": "等待中",
        "running": "运行中",
        "done": "已完成",
        "failed": "失败",
    },
    "surveys.models.KanoTag": {
        "time": "时间（基本需求）",
        "quality": "质量（基本需求）",
        "price": "价格（基本需求）",
        "respect": "尊重（魅力需求）",
        "care": "关怀（魅力需求）",
    },
    "surveys.models.KanoClass": {
        "basic": "基本型",
        "performance": "期望型",
        "delight": "魅力型",
    },
    "surveys.models.IndicatorGroup": {
        "goods": "商品",
        "store": "门店",
        "service": "服务",
    },
    "surveys.models.SelectionKind": {
        "": "全部门店",
        "region": "按区域",
        "city": "按城市",
        "store": "按门店编码",
    },
    "surveys.models.Channel": {
        "qr": "门店二维码",
        "receipt": "小票邀请",
        "paper": "纸质问卷（商圈调查）",
        "phone": "电话访问",
    },
    "surveys.models.InvitationChannel": {
        "receipt": "打印小票",
        "sms": "短信",
        "wechat": "微信",
        "staff": "店员发放",
    },
    "surveys.models.ResponseStatus": {
        "counted": "计入结果",
        "flagged": "已标记，待总部审核",
        "cleared": "总部已放行",
        "rejected": "总部已剔除",
    },
    "surveys.models.FlagReason": {
        "speeder": "答题过快",
        "untimed": "答题时长未知",
        "burst": "同一设备集中提交",
        "store": "门店答卷疑似造假",
        "staff_entered": "由本店员工自行录入",
        "self_served": "服务人员填的是录入人本人",
    },
    "surveys.models.StoreFlagStatus": {
        "open": "待处理",
        "cleared": "已放行",
        "confirmed": "确认造假",
    },
    "mystery_shopper.models.ScorecardPart": {
        "image": "门店形象",
        "purchase": "购药评定",
        "process": "问病卖药流程",
    },
    "mystery_shopper.models.ItemKind": {
        "yes_no": "是 / 否",
        "points": "0 至 N 分",
    },
    "mystery_shopper.models.EvidenceKind": {
        "": "无",
        "photo": "照片",
        "audio": "录音",
    },
    "mystery_shopper.models.VisitStatus": {
        "unassigned": "未分派",
        "assigned": "已分派",
        "draft": "填写中",
        "submitted": "已提交",
        "returned": "已退回",
        "approved": "已审核通过",
        "cancelled": "已取消",
    },
    "mystery_shopper.models.AppealStatus": {
        "open": "待裁决",
        "upheld": "维持原报告",
        "changed": "已更正",
    },
    "mystery_shopper.models.ReminderStage": {
        "due_soon": "3 天内到期",
        "overdue": "已逾期",
    },
    "complaints.models.ComplaintKind": {
        "customer": "顾客投诉",
        "internal": "内部投诉",
    },
    "complaints.models.Channel": {
        "in_store": "门店当面",
        "phone": "电话",
        "letter": "信函",
        "web": "网络",
        "fax": "传真",
        "pos": "收银系统",
        "other": "其他",
    },
    "complaints.models.Category": {
        "product_quality": "商品质量",
        "service_attitude": "服务态度",
        "professional_advice": "专业建议 / 疗效",
        "price": "价格",
        "environment": "购物环境",
        "assortment": "品种不全",
        "other": "其他",
    },
    "complaints.models.Grade": {
        "A": "A – 最严重",
        "B": "B – 严重",
        "C": "C – 一般",
    },
    "complaints.models.Responsibility": {
        "own_store": "本门店",
        "other_department": "其他部门",
        "grey_zone": "灰色地带（上报裁决）",
    },
    "complaints.models.Status": {
        "new": "新建",
        "assigned": "已分派",
        "in_progress": "处理中",
        "waiting_customer": "等待顾客回复",
        "resolved": "已解决",
        "closed": "已结案",
        "reopened": "已重开",
    },
    "complaints.models.Source": {
        "staff": "员工",
        "public": "顾客网页表单",
        "api": "其他系统（API）",
    },
    "complaints.models.AgeBand": {
        "0": "1岁以下",
        "1-17": "1–17岁",
        "18-64": "18–64岁",
        "65+": "65岁及以上",
        "unknown": "不详",
    },
    "complaints.models.Sex": {
        "female": "女",
        "male": "男",
        "unknown": "不详",
    },
    "complaints.models.ReactionOutcome": {
        "recovered": "痊愈",
        "recovering": "好转",
        "not_recovered": "未好转",
        "sequelae": "有后遗症",
        "death": "死亡",
        "unknown": "未知",
    },
    "complaints.models.AppealKind": {
        "grade": "等级",
        "substantiation": "是否属实",
    },
    "complaints.models.AppealStatus": {
        "open": "待裁决",
        "accepted": "成立",
        "rejected": "驳回",
    },
    "complaints.models.AlertKind": {
        "first_response": "首次响应超时",
        "warn": "即将超时",
        "escalate": "已超时并升级",
        "recurrence": "再发生复查到期",
    },
    "complaints.models.SpikeScope": {
        "store": "门店",
        "region": "区域",
    },
    "scoring.models.MissingComponent": {
        "rescale": "按比例折算：由另一部分承担其分值",
        "zero": "记零分：缺失部分按 0 分计",
    },
    "scoring.models.MissingPart": {
        "store": "该部分取门店值（加标记）",
        "zero": "按 0 分计（加标记）",
    },
    "scoring.models.RollupStatus": {
        "provisional": "暂定",
        "published": "已发布（锁定）",
        "superseded": "已被替代",
    },
    "scoring.models.InputKind": {
        1: "问卷答卷",
        2: "神秘顾客暗访",
        3: "投诉",
    },
    "dashboard.models.ActionSource": {
        "indicator": "薄弱指标",
        "complaint": "投诉规律",
        "mystery_shopper": "神秘顾客发现的问题",
        "other": "其他",
    },
    "dashboard.models.ActionStatus": {
        "open": "进行中",
        "done": "已完成，待下季度复盘",
        "reviewed": "已复盘",
    },
    "dashboard.models.ReportScope": {
        "chain": "全连锁",
        "region": "区域",
        "store": "门店",
    },
    "dashboard.models.ActionOutcome": {
        "improved": "已改善",
        "unchanged": "无明显变化",
        "worse": "变差",
        "no_data": "无数据可比",
    },
}


def _labels(choices) -> dict:
    with translation.override("zh-hans"):
        return {value: str(label) for value, label in choices}


def _english(choices) -> dict:
    with translation.override("en"):
        return {value: str(label) for value, label in choices}


def _field_choices() -> Iterator[tuple[str, list]]:
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model.__name__.startswith("Historical"):
            continue
        for field in model._meta.concrete_fields:
            if field.choices:
                yield f"{model._meta.app_label}.{model.__name__}.{field.name}", field.flatchoices


def _choices_classes() -> Iterator[tuple[str, list]]:
    for app in OUR_APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if any(part in SKIPPED_MODULES for part in info.name.split(".")):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (inspect.isclass(value) and issubclass(value, models.Choices)
                        and value.__module__ == module.__name__):
                    yield f"{module.__name__}.{name}", value.choices


def _all_choices() -> dict[str, list]:
    return dict([*_field_choices(), *_choices_classes()])


def test_every_choice_of_the_project_is_in_the_reviewed_table():
    found = _all_choices()
    assert sorted(set(found) - set(REVIEWED)) == [], "new choices: review and add them"
    assert sorted(set(REVIEWED) - set(found)) == [], "gone: remove them from the table"
    for key, choices in found.items():
        assert set(_labels(choices)) == set(REVIEWED[key]), f"{key}: values changed"


def test_every_choice_label_reads_as_reviewed_in_chinese():
    wrong = {f"{key}[{value!r}]": (label, REVIEWED.get(key, {}).get(value))
             for key, choices in _all_choices().items()
             for value, label in _labels(choices).items()
             if label != REVIEWED.get(key, {}).get(value)}
    assert wrong == {}, "(rendered, reviewed)"


def test_no_choice_label_is_left_in_english():
    english = {f"{key}[{value!r}]": label
               for key, choices in _all_choices().items()
               for (value, label), en in zip(_labels(choices).items(),
                                             _english(choices).values(), strict=True)
               if label == en and any(c.isalpha() for c in en)}
    assert english == {}
