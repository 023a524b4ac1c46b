"""Demo complaints: every state, some overdue, some with 8D reports, an appeal, a recurrence
check that is due."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from satisfaction.demo import DemoChain, store_manager_user
from satisfaction.models import Department
from satisfaction.quarters import chain_zone

from . import services
from .models import Category, Channel, Complaint, EightDReport, RecurrenceCheck

DESCRIPTIONS = {
    Category.PRODUCT_QUALITY: ["买回的感冒药外包装破损", "维生素片临近有效期未提示"],
    Category.SERVICE_ATTITUDE: ["店员态度冷淡，问了两次才回答", "收银员不耐烦"],
    Category.PROFESSIONAL_ADVICE: ["药师推荐的药吃了三天没有效果", "没有询问过敏史就推荐了抗生素"],
    Category.PRICE: ["价签与收银价格不一致", "会员价没有生效"],
    Category.ENVIRONMENT: ["店内地面湿滑没有提示", "货架积灰"],
    Category.ASSORTMENT: ["常用降压药经常缺货", "儿童退烧药缺货"],
    Category.OTHER: ["停车不方便"],
}
SECTIONS = {
    "d1_team": "店长、当班药师、区域质量专员",
    "d2_problem": "顾客反映问题属实，涉及一名顾客、一次购药。",
    "d3_containment": "当日为顾客更换商品并致歉，同批次商品下架检查。",
    "d4_root_cause": "收货验收未逐件核对效期，陈列巡检漏项。",
    "d5_corrective_action": "增加效期双人复核，巡检表增加效期项目。",
    "d6_implementation": "已培训全店员工，一周抽查三次，未再发现问题。",
    "d7_prevention": "将效期复核写入门店标准作业流程。",
    "d8_closure": "顾客表示满意，表扬当班药师的及时处理。",
}
# What the customer is told on closing (services.reports): no root cause, no staff names.
CUSTOMER_SUMMARY = ("经核实，您反映的问题属实。我们已当面向您致歉，并加强了门店的检查和员工培训，"
                    "避免同类问题再次发生。")


class _Maker:
    def __init__(self, chain: DemoChain) -> None:
        self.chain = chain
        self.rng = chain.rng
        self.hq = chain.users["hq"]
        self.store1 = chain.stores[0]
        self.manager = chain.users["store1"]
        now = timezone.now()
        self.base = min(now, datetime.combine(chain.today, time(12), tzinfo=chain_zone()))
        self.made: list[Complaint] = []

    def new(self, store, hours_ago: float, **extra) -> Complaint:
        rng = self.rng
        category = extra.pop("category", rng.choice(list(DESCRIPTIONS)))
        staff = self.chain.staff_of(store)
        complaint = services.complaint_create(
            store=store, channel=extra.pop("channel", rng.choice(Channel.values)),
            category=category,
            description=extra.pop("description", None) or rng.choice(DESCRIPTIONS[category]),
            customer_name=rng.choice("王李张刘陈杨") + rng.choice(["先生", "女士"]),
            customer_phone=f"13{rng.randint(100000000, 999999999)}",
            received_at=self.base - timedelta(hours=hours_ago),
            employee=rng.choice(staff) if staff and rng.random() < 0.5 else None,
            received_by=self.manager if store == self.store1 else self.hq, **extra)
        self.made.append(complaint)
        return complaint

    def triage(self, c: Complaint, grade: str, *, substantiated: bool = True) -> None:
        services.complaint_triage(complaint=c, user=self.hq, version=c.version, grade=grade,
                                  substantiated=substantiated, responsibility="own_store",
                                  owner=self.manager if c.store_id == self.store1.pk else None)

    def resolve(self, c: Complaint, *, satisfied: bool = True) -> None:
        services.complaint_resolve(complaint=c, user=self.hq, version=c.version,
                                   remedy="致歉并为顾客更换/退款", customer_satisfied=satisfied)

    def close(self, c: Complaint) -> None:
        if services.eight_d_required(c):
            services.eight_d_save(complaint=c, user=self.hq, version=1, sections=SECTIONS,
                                  customer_summary=CUSTOMER_SUMMARY)
        services.complaint_close(complaint=c, user=self.hq, version=c.version)

    def store_one_in_every_state(self) -> None:
        """The demo store manager's store: one complaint in every state."""
        store, manager = self.store1, self.manager
        self.new(store, 1)                                             # new
        self.triage(self.new(store, 3), "C")                           # assigned
        c = self.new(store, 20)                                        # in progress, warned
        self.triage(c, "B")
        services.complaint_start(complaint=c, user=manager, version=c.version)
        c = self.new(store, 6)                                         # waiting for customer
        self.triage(c, "C")
        services.complaint_start(complaint=c, user=manager, version=c.version)
        services.complaint_wait_for_customer(complaint=c, user=manager, version=c.version)
        self.triage(self.new(store, 30), "A")                          # overdue, escalated
        c = self.new(store, 10)                                        # resolved, 8D draft
        self.triage(c, "B")
        self.resolve(c)
        services.eight_d_save(complaint=c, user=manager, version=1,
                              sections={**SECTIONS, "d8_closure": ""})
        c = self.new(store, 50, category=Category.PRODUCT_QUALITY)     # closed with 8D
        self.triage(c, "A")
        self.resolve(c)
        self.close(c)
        c = self.new(store, 45, category=Category.PRICE,               # closed, report e-mailed
                     customer_email="customer@example.com")            # (services.reports)
        self.triage(c, "B")
        self.resolve(c)
        self.close(c)
        c = self.new(store, 40)                                        # reopened
        self.triage(c, "C")
        self.resolve(c, satisfied=False)
        services.complaint_reopen(complaint=c, user=manager, version=c.version,
                                  note="顾客再次来电")
        c = self.new(store, 60)                                        # closed, appealed
        self.triage(c, "B")
        self.resolve(c)
        self.close(c)
        services.appeal_file(complaint=c, user=manager, kind="substantiation",
                             requested_substantiated=False, reason="监控显示已按流程解释")
        RecurrenceCheck.objects.filter(complaint=c, interval_days=30).update(
            due_at=timezone.now() - timedelta(hours=1))

    def recurrence(self) -> None:
        """A problem that came back: a product complaint closed 25 days ago, and today the same
        batch in the demo store manager's store. Intake links it (``recurrence_link``): the
        closed complaint's open checks (60 and 90 days) are marked recurred, the 30-day one,
        answered "not recurred" too soon, shows red, its 8D report is reopened at D4–D7, its
        owner and HQ are told."""
        medicine = {"medicine_name": "复方感冒灵颗粒", "specification": "10g×9袋",
                    "manufacturer": "华润三九医药股份有限公司", "batch_no": "2405118",
                    "supplier": "九州通医药集团"}
        c = self.new(self.chain.stores[2], 24 * 30, category=Category.PRODUCT_QUALITY,
                     description="颗粒结块，冲不开", product=services.ProductInput(**medicine))
        self.triage(c, "B")
        self.resolve(c)
        self.close(c)
        # Demo history: it was closed 25 days ago, and its checks are counted from then.
        shift = timedelta(days=25)
        Complaint.objects.filter(pk=c.pk).update(closed_at=F("closed_at") - shift,
                                                 resolved_at=F("resolved_at") - shift)
        RecurrenceCheck.objects.filter(complaint=c).update(due_at=F("due_at") - shift)
        # Answered early and too soon: the batch comes back inside the 30-day window, so this
        # answer shows red, naming the complaint that contradicts it.
        services.recurrence_confirm(complaint=c, user=self.hq, recurred=False, interval_days=30,
                                    note="门店巡检未再发现结块")
        self.new(self.store1, 2, category=Category.PRODUCT_QUALITY,
                 description="同一批号的感冒灵颗粒又结块了",
                 product=services.ProductInput(**medicine))

    def product_batch(self) -> None:
        """One bad batch complained about in three stores (the batch page shows it as one
        problem in 3 stores), one of them a suspected adverse reaction HQ was alerted to."""
        stores = self.chain.stores
        medicine = {"medicine_name": "阿莫西林胶囊", "specification": "0.25g×24粒",
                    "manufacturer": "华北制药股份有限公司", "batch_no": "A2309015",
                    "supplier": "国药控股上海有限公司"}
        picked = [stores[0], stores[len(stores) // 2], stores[-1]]
        for hours_ago, store in ((70, picked[0]), (30, picked[1])):
            self.new(store, hours_ago, category=Category.PRODUCT_QUALITY,
                     description="胶囊受潮结块，打开铝塑板有异味",
                     product=services.ProductInput(**medicine))
        self.new(picked[2], 5, category=Category.PRODUCT_QUALITY,
                 description="老人服药第二天全身起红疹、瘙痒，已停药就医",
                 product=services.ProductInput(
                     **medicine, suspected_adr=True, patient_age_band="65+",
                     patient_sex="female", reaction_description="服药第二天全身皮疹、瘙痒",
                     reaction_started_on=self.base.date() - timedelta(days=1),
                     reaction_outcome="recovering"))

    def spike_wave(self) -> None:
        """Early warning: this week, environment complaints at four stores of the first region
        (a region spike, no store above its own threshold) and assortment complaints piling up
        at one of them (a store spike); the daily sweep then finds both (``seed``)."""
        stores = [s for s in self.chain.stores if s.region_id == self.chain.regions[0].pk][1:5]
        waves = [(store, Category.ENVIRONMENT, 24 + 30 * i + 5 * k)
                 for i, store in enumerate(stores) for k in range(2)]
        waves += [(stores[-1], Category.ASSORTMENT, 20 + 26 * k) for k in range(4)]
        for store, category, hours_ago in waves:
            c = self.new(store, hours_ago, category=category)
            self.triage(c, "C")
            self.resolve(c)

    def chain_spread(self) -> None:
        """Across the chain: a spread of complaints, most handled, some overdue."""
        rng = self.rng
        for store in self.chain.stores[1:]:
            for _ in range(rng.randint(0, 3)):
                c = self.new(store, rng.uniform(1, 24 * 60))
                roll = rng.random()
                if roll < 0.15:
                    continue
                self.triage(c, rng.choice("ABCCC"), substantiated=rng.random() < 0.8)
                if roll < 0.3:
                    continue
                self.resolve(c, satisfied=rng.random() < 0.85)
                if roll >= 0.45:
                    self.close(c)


INTERNAL = {
    "logistics": ["补货单已审批三天，降压药仍未到货，门店断货",
                  "配送车到店时间不固定，常在高峰期卸货",
                  "上周配送少了两箱儿童退烧药，回单已签"],
    "merchandising": ["新上架的维生素品规与门店商圈需求不符，滞销",
                      "畅销的中成药被下架，顾客多次询问"],
    "pricing": ["促销价已调整但系统价签未同步，顾客投诉价签不符", "会员价规则变更未提前通知门店"],
    "it": ["收银系统下午频繁卡顿，顾客排队", "会员积分查询接口报错"],
    "hr": ["门店缺编两人，招聘需求提交一个月未回复"],
    "training": ["新员工入职培训排期太晚，上岗前未完成用药咨询培训"],
}


def internal(chain: DemoChain) -> list[Complaint]:
    """Stores' internal complaints to HQ departments: S0001's manager and clerk and managers
    of stores in every region file them over the last weeks; most are handled and closed with
    the store's answer, a few are open and one is overdue."""
    rng = chain.rng
    heads = {code: chain.users.get(f"dept-{code}") for code in INTERNAL}
    departments = {d.code: d for d in Department.objects.filter(code__in=list(INTERNAL))}
    stores = [chain.stores[0], *chain.stores[1::4]]
    made = []
    for index, store in enumerate(stores):
        filer = store_manager_user(chain, store)
        if index == 0 and "clerk1" in chain.users and rng.random() < 0.5:
            filer = chain.users["clerk1"]
        for code in rng.sample(list(departments), k=rng.randint(1, 3)):
            complaint = services.internal_complaint_create(
                user=filer, store=store, department=departments[code],
                description=rng.choice(INTERNAL[code]))
            hours_ago = rng.uniform(2, 24 * 40)
            _shift(complaint, timedelta(hours=hours_ago))
            complaint.refresh_from_db()
            made.append(complaint)
            handler = heads.get(code) or chain.users["hq"]
            roll = rng.random()
            if roll < 0.25 and hours_ago > 30:
                continue  # open, past its 24 hours: overdue, escalated by the sweep
            if roll < 0.3:
                continue
            services.complaint_start(complaint=complaint, user=handler,
                                     version=complaint.version)
            services.complaint_resolve(complaint=complaint, user=handler,
                                       version=complaint.version,
                                       remedy="已核实并处理，补发/调整完毕",
                                       customer_satisfied=None)
            if roll < 0.45:
                continue  # waiting for the store's answer
            satisfied = rng.random() < 0.8
            services.internal_complaint_confirm(
                complaint=complaint, user=filer, version=complaint.version,
                satisfied=satisfied, note="" if satisfied else "问题仍未彻底解决")
            services.complaint_close(complaint=complaint, user=handler,
                                     version=complaint.version)
    return made


def _shift(complaint: Complaint, delta: timedelta) -> None:
    """Date a just-filed demo complaint ``delta`` earlier (its clock with it)."""
    Complaint.objects.filter(pk=complaint.pk).update(**{
        name: F(name) - delta for name in ("received_at", "clock_started_at", "due_at",
                                           "warn_at", "next_alert_at")})


def seed(*, chain: DemoChain) -> str:
    maker = _Maker(chain)
    maker.store_one_in_every_state()
    maker.chain_spread()
    maker.product_batch()
    maker.spike_wave()
    maker.recurrence()
    internal_made = internal(chain)
    services.sla_sweep()
    services.complaint_spike_sweep()
    return (f"{len(maker.made)} complaints, "
            f"{Complaint.objects.filter(escalation_level__gt=0).count()} escalated, "
            f"{EightDReport.objects.count()} 8D reports, "
            f"{len(internal_made)} internal complaints to HQ departments")
