"""The first keyword router on labelled resident messages in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.crisis import CrisisResult, CrisisScreen
from knowledge.router import RouteDecision, Router


@pytest.fixture(scope="module")
def router() -> Router:
    """The packaged intents and crisis lexicon, compiled once for this module."""
    return Router.load(crisis=CrisisScreen.load())


# (message, intent, category for complaints / faq id for faq / None)
# MUST: clear cases that every version of the router has to get right.
MUST: list[tuple[str, str, str | None]] = [
    ("楼上太吵了", "complaint", "noise"),
    ("路灯坏了好几天了", "complaint", "facilities"),
    ("垃圾没人收，都臭了", "complaint", "sanitation"),
    ("物业不管，怎么办", "complaint", "property"),
    ("楼道里堆满了杂物，消防通道都堵了", "complaint", "safety"),
    ("有人在小区里私搭乱建", "complaint", "construction"),
    ("邻居家漏水到我家，他不肯赔偿", "complaint", "dispute"),
    ("下水道堵了", "complaint", "facilities"),
    ("The street light outside building 5 is broken", "complaint", "facilities"),
    ("My upstairs neighbour is too loud every night", "complaint", "noise"),
    ("garbage hasn't been collected for days", "complaint", "sanitation"),
    ("怎么办理居住证", "faq", "residence-permit"),
    ("低保怎么申请", "faq", "low-income"),
    ("垃圾分类怎么分", "faq", "garbage-sorting"),
    ("社区食堂在哪里，老人吃饭多少钱", "faq", "elderly-meal"),
    ("老旧小区加装电梯需要什么手续", "faq", "elevator"),
    ("养犬登记去哪里办", "faq", "dog-registration"),
    ("心理咨询室怎么预约", "faq", "counseling-room"),
    ("心理援助热线是多少", "faq", "psych-hotline"),
    ("How do I apply for a residence permit?", "faq", "residence-permit"),
    ("Where can I get free legal aid?", "faq", "legal-aid"),
    ("我的投诉到哪了", "status", None),
    ("上次反映的路灯问题处理得怎么样了", "status", None),
    ("查一下进度", "status", None),
    ("Any update on my complaint?", "status", None),
    ("T-2026-000123 处理了吗", "status", None),
    ("你好", "greeting", None),
    ("谢谢", "greeting", None),
    ("在吗", "greeting", None),
    ("hello", "greeting", None),
    ("thanks!", "greeting", None),
    ("我觉得电梯方案应该再讨论一下", "deliberation", None),
    ("我建议小区多装几个充电桩", "deliberation", None),
    ("我支持这个改造方案", "deliberation", None),
    ("I suggest we plant more trees in the courtyard", "deliberation", None),
    ("最近老是失眠", "psych", None),
    ("好孤独，没人说话", "psych", None),
    ("压力好大", "psych", None),
    ("I feel so lonely these days", "psych", None),
    ("今天天气怎么样", "other", None),
    ("给我讲个笑话", "other", None),
    ("我想死", "crisis", None),
    ("I want to kill myself", "crisis", None),
]

# MORE: realistic, sometimes ambiguous messages; the overall accuracy bar applies to ALL.
MORE: list[tuple[str, str, str | None]] = [
    # complaints
    ("小区门口的井盖丢了，很危险", "complaint", None),
    ("电梯又坏了，老人上不了楼", "complaint", "facilities"),
    ("我们楼停水两天了也没人通知", "complaint", "facilities"),
    ("路面坑坑洼洼的，下雨全是积水", "complaint", "facilities"),
    ("楼下垃圾桶满了没人清", "complaint", "sanitation"),
    ("草坪上到处是狗屎", "complaint", "sanitation"),
    ("小区里老鼠好多", "complaint", "sanitation"),
    ("物业费收了服务却这么差", "complaint", "property"),
    ("保安天天睡觉，什么都不管", "complaint", "property"),
    ("报修一个星期了都没人来", "complaint", "property"),
    ("广场舞音响声音太大了", "complaint", "noise"),
    ("隔壁半夜装修，吵得睡不着", "complaint", "noise"),
    ("楼下的狗一直叫", "complaint", "noise"),
    ("房东不退押金", "complaint", "dispute"),
    ("邻居总是占我车位，说了也不听", "complaint", "dispute"),
    ("一楼住户在楼下加建了一个阳光房", "complaint", "construction"),
    ("楼上在拆承重墙", "complaint", "construction"),
    ("有人高空抛物，差点砸到人", "complaint", "safety"),
    ("楼道里有人飞线充电", "complaint", "safety"),
    ("单元门口闻到很重的煤气味", "complaint", "safety"),
    ("There are rats near the bins", "complaint", "sanitation"),
    ("the drain on our street is blocked", "complaint", "facilities"),
    ("Someone keeps parking in the fire lane", "complaint", "safety"),
    ("the property company ignores our repair requests", "complaint", "property"),
    ("my landlord won't return my deposit", "complaint", "dispute"),
    ("樓上太吵了，每天晚上都在跺腳", "complaint", "noise"),
    ("路燈壞了", "complaint", "facilities"),
    ("我要投诉", "complaint", None),
    # faq
    ("80岁以上老人有高龄津贴吗", "faq", "elderly-subsidy"),
    ("家庭养老床位怎么申请", "faq", "elderly-home-bed"),
    ("独居老人可以申请紧急呼叫设备吗", "faq", "elderly-care-device"),
    ("老年人优待证在哪里办", "faq", "elderly-card"),
    ("社区有托育服务吗，孩子两岁", "faq", "childcare"),
    ("外地户口孩子怎么上小学", "faq", "school-enrollment"),
    ("发现留守儿童没人照顾，应该找谁", "faq", "child-protection"),
    ("新市民服务中心能办什么", "faq", "newcomer-center"),
    ("有没有招聘会或者职业培训", "faq", "employment"),
    ("灵活就业怎么交社保", "faq", "social-insurance"),
    ("社区服务中心几点上班", "faq", "service-center"),
    ("社区还能开居住证明吗", "faq", "certificates"),
    ("我想报名当志愿者", "faq", "volunteer"),
    ("社区公益金怎么申请", "faq", "community-fund"),
    ("物业问题找谁", "faq", "property-mgmt"),
    ("怎么成立业委会", "faq", "owners-committee"),
    ("旧沙发怎么扔", "faq", "bulky-waste"),
    ("小区能装充电桩吗", "faq", "parking-charging"),
    ("电动车可以在家里充电吗", "faq", "ebike-safety"),
    ("家里燃气泄漏怎么办", "faq", "gas-safety"),
    ("噪音扰民找谁", "faq", "noise"),
    ("调解中心在哪，怎么预约调解", "faq", "mediation-center"),
    ("信访多久能有答复", "faq", "petition"),
    ("临时救助需要什么材料", "faq", "temporary-aid"),
    ("残疾证怎么办理", "faq", "disability"),
    ("怎么登记社区社会组织", "faq", "social-org"),
    ("社工证考试什么时候报名", "faq", "social-worker-cert"),
    ("我的网格员是谁", "faq", "grid-worker"),
    ("居民议事厅怎么参与", "faq", "deliberation-how"),
    ("你们会保存我的个人信息吗", "faq", "bot-privacy"),
    ("你能做什么", "faq", "bot-help"),
    ("What documents do I need for the minimum living allowance?", "faq", "low-income"),
    ("How do I register my dog?", "faq", "dog-registration"),
    ("Is there a daycare for toddlers nearby?", "faq", "childcare"),
    ("When is the next job fair?", "faq", "employment"),
    ("How can I delete my data?", "faq", "bot-privacy"),
    ("請問怎麼辦理殘疾證", "faq", "disability"),
    # status
    ("我报修的水管什么时候修好", "status", None),
    ("我之前投诉的事情有结果了吗", "status", None),
    ("What's the status of my report?", "status", None),
    # greeting
    ("您好，有人吗", "greeting", None),
    ("早上好", "greeting", None),
    ("hi there", "greeting", None),
    ("menu", "greeting", None),
    # deliberation
    ("我反对在小区里建停车场", "deliberation", None),
    ("公共收益应该用来修路", "deliberation", None),
    ("我投赞成票", "deliberation", None),
    ("I vote for option B", "deliberation", None),
    # psych
    ("心情不好，想找人聊聊", "psych", None),
    ("奶奶去世了，我很难过", "psych", None),
    ("工作压力太大了，每天都焦虑", "psych", None),
    ("I can't sleep and I feel anxious all the time", "psych", None),
    ("晚上睡不着，脑子很乱", "psych", None),
    # other
    ("帮我写作业", "other", None),
    ("推荐一部电影", "other", None),
    ("what's the weather tomorrow", "other", None),
    ("今天股票涨了吗", "other", None),
    # second batch (written after the first)
    ("小区北门的路灯一到晚上就不亮", "complaint", None),
    ("单元楼的声控灯坏了", "complaint", None),
    ("绿化带里好多垃圾没人清理", "complaint", None),
    ("物业电话一直打不通", "complaint", None),
    ("楼上每天半夜蹦迪", "complaint", None),
    ("对面工地晚上十一点还在施工", "complaint", None),
    ("有人把电动车推进电梯", "complaint", None),
    ("车库出口的地面塌了一块", "complaint", None),
    ("邻居养的狗老在楼道里拉屎", "complaint", None),
    ("楼下烧烤店油烟太大", "complaint", None),
    ("隔壁把公共走廊占了放鞋柜", "complaint", None),
    ("空调外机滴水滴到我家阳台", "complaint", None),
    ("请问办居住证要带什么", "faq", None),
    ("老人每个月的高龄补贴什么时候发", "faq", None),
    ("孩子上幼儿园要准备哪些材料", "faq", None),
    ("失业了可以领失业金吗", "faq", None),
    ("社区几点下班", "faq", None),
    ("想申请法律援助", "faq", None),
    ("装修垃圾放哪里", "faq", None),
    ("养狗要办证吗", "faq", None),
    ("怎么联系网格员", "faq", None),
    ("社区有没有老年食堂", "faq", None),
    ("我想捐点钱给社区", "faq", None),
    ("how do I get a disability certificate", "faq", None),
    ("where do I throw away an old mattress", "faq", None),
    ("what are the quiet hours", "faq", None),
    ("我提交的报修单怎么样了", "status", None),
    ("我的事情处理了没有", "status", None),
    ("has anyone looked at my ticket yet", "status", None),
    ("哈喽", "greeting", None),
    ("谢谢你们", "greeting", None),
    ("good morning", "greeting", None),
    ("hey, anyone there?", "greeting", None),
    ("我觉得广场应该装个遮阳棚", "deliberation", None),
    ("同意方案二", "deliberation", None),
    ("我想提议每月组织一次清洁日", "deliberation", None),
    ("we should have more benches", "deliberation", None),
    ("一个人住，晚上特别孤单", "psych", None),
    ("最近情绪很低落", "psych", None),
    ("考试压力好大睡不着", "psych", None),
    ("I feel really down and stressed", "psych", None),
    ("今天晚上吃什么好", "other", None),
    ("你喜欢什么颜色", "other", None),
    ("帮我翻译一下这句话", "other", None),
    ("who won the football match", "other", None),
    # crisis (route() screens first)
    ("我已经吃了一整瓶安眠药", "crisis", None),
    ("老公打我", "crisis", None),
]

ALL = MUST + MORE


def _check(decision: RouteDecision, intent: str, detail: str | None) -> bool:
    """True when the decision has the labelled intent (and category / FAQ id when given)."""
    if decision.intent != intent:
        return False
    if detail is None:
        return True
    if intent == "complaint":
        return decision.category == detail
    if intent == "faq":
        return decision.faq_id == detail
    return True


@pytest.mark.parametrize(("text", "intent", "detail"), MUST)
def test_must_cases(router: Router, text: str, intent: str, detail: str | None) -> None:
    """Every clear case routes correctly."""
    decision = router.route(text)
    assert _check(decision, intent, detail), decision
    assert decision.confidence >= 0.6, decision


@pytest.mark.parametrize(("text", "intent", "detail"), MORE)
def test_more_cases(router: Router, text: str, intent: str, detail: str | None) -> None:
    """The wider set is tracked one by one (the bar for it is the overall accuracy below)."""
    decision = router.route(text)
    if not _check(decision, intent, detail):
        pytest.xfail(f"misrouted: {decision}")


def test_overall_accuracy(router: Router) -> None:
    """At least 85 % of all labelled messages route correctly, far above always-`other`."""
    correct = sum(_check(router.route(text), intent, detail) for text, intent, detail in ALL)
    accuracy = correct / len(ALL)
    baseline = sum(intent == "other" for _, intent, _ in ALL) / len(ALL)
    assert len(ALL) >= 80
    assert len(MUST) >= 40
    assert accuracy >= 0.85, accuracy
    assert accuracy > baseline + 0.5


def test_every_intent_is_covered() -> None:
    """The labelled set covers all eight intents."""
    assert {intent for _, intent, _ in ALL} == {
        "crisis",
        "psych",
        "complaint",
        "faq",
        "deliberation",
        "status",
        "greeting",
        "other",
    }


def test_decision_shape(router: Router) -> None:
    """as_dict has exactly the keys `linli route --json` prints; fields follow the intent."""
    decision = router.route("楼上太吵了")
    assert list(decision.as_dict()) == [
        "text",
        "intent",
        "confidence",
        "category",
        "faq_id",
        "topic_id",
        "severity",
    ]
    assert decision.faq_id is None and decision.severity is None and decision.topic_id is None
    faq = router.route("低保怎么申请")
    assert faq.category is None and faq.faq_id == "low-income"
    crisis = router.route("我想死")
    assert crisis.severity == "high" and crisis.confidence >= 0.7


def test_classify_skips_crisis_screen(router: Router) -> None:
    """classify() never answers crisis: the engine screens separately."""
    assert router.classify("我想死").intent != "crisis"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😀😀😀", "👍", "。。。", "??"])
def test_empty_and_emoji_only(router: Router, text: str) -> None:
    """Nothing to read → other, with low confidence."""
    decision = router.route(text)
    assert decision.intent == "other"
    assert decision.confidence <= 0.3


def test_very_long_message(router: Router) -> None:
    """A 20,000-character message routes without error and keeps its text."""
    text = ("楼上太吵了" * 4000)[:20000]
    decision = router.route(text)
    assert decision.intent == "complaint"
    assert decision.text == text
    assert 0.0 <= decision.confidence <= 1.0


def test_confidence_is_lower_for_guesses(router: Router) -> None:
    """A clear message is more confident than a vague one."""
    clear = router.route("路灯坏了好几天了")
    vague = router.route("那个东西")
    assert clear.confidence >= 0.7
    assert vague.confidence < clear.confidence


def test_load_custom_intents(tmp_path: Path) -> None:
    """A deployment can supply its own keyword file; unknown labels are rejected."""
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  greeting:\n    strong: [早]\n", encoding="utf-8")
    assert Router.load(path).classify("早").intent == "greeting"
    bad = tmp_path / "bad.yaml"
    bad.write_text("complaint:\n  weather:\n    strong: [下雨]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="weather"):
        Router.load(bad)


def test_a_possible_crisis_is_routed_as_crisis_with_its_severity() -> None:
    """`linli route --json`: intent is crisis whenever a severity is set, possible included."""

    class Asking:
        def screen(self, text: str) -> CrisisResult:
            return CrisisResult("possible", "self", ("model",), 0.75)

    router = Router.load(crisis=Asking())  # type: ignore[arg-type]
    decision = router.route("最近总觉得没什么意思")
    assert (decision.intent, decision.severity) == ("crisis", "possible")
    assert decision.as_dict()["severity"] == "possible"
