"""The first crisis screen: labelled crisis and tricky non-crisis resident messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.crisis import CrisisResult, CrisisScreen


@pytest.fixture(scope="module")
def screen() -> CrisisScreen:
    """The packaged lexicon, compiled once for this module."""
    return CrisisScreen.load()


# (message, expected severity, expected kind or None when any kind is fine)
CRISIS: list[tuple[str, str, str | None]] = [
    # --- simplified Chinese: ideation ---
    ("我想死", "high", "self"),
    ("真的好想死啊", "high", "self"),
    ("我不想活了", "high", "self"),
    ("活着没意思，每天都一样", "high", "self"),
    ("我有时候会想自杀", "high", "self"),
    ("想结束自己的生命", "high", "self"),
    ("我觉得死了算了", "high", "self"),
    ("最近总是想轻生", "high", "self"),
    ("我想离开这个世界", "high", "self"),
    ("活不下去了，真的", "high", "self"),
    ("我没有活下去的理由了", "high", "self"),
    ("我想去死", "high", "self"),
    ("我怕我会做傻事", "high", "self"),
    ("我想跳楼", "high", "self"),
    # --- passive ideation ---
    ("要是我消失就好了", "high", "self"),
    ("没有我大家会更好", "high", "self"),
    ("真希望睡着了就不要醒来", "high", "self"),
    ("我就是个累赘，拖累家人", "high", "self"),
    ("活着是多余的", "high", "self"),
    # --- acute distress ---
    ("我真的撑不下去了", "high", "self"),
    ("崩溃了，想结束这一切", "high", "self"),
    ("每天都生不如死", "high", "self"),
    ("彻底绝望了，看不到任何希望", "high", "self"),
    # --- self-harm ---
    ("我又割腕了", "imminent", "self"),
    ("忍不住想自残", "high", "self"),
    ("昨天又划自己了", "high", "self"),
    ("我控制不住伤害自己", "high", "self"),
    # --- plan / act in progress: imminent ---
    ("我已经吃了一整瓶安眠药", "imminent", "self"),
    ("吃了三十片药，现在头好晕", "imminent", "self"),
    ("我在楼顶，不想活了", "imminent", "self"),
    ("今晚就去死", "imminent", "self"),
    ("遗书已经写好了", "imminent", "self"),
    ("我准备好了绳子，不想活了", "imminent", "self"),
    ("流了好多血，止不住", "imminent", "self"),
    ("喝了农药", "imminent", "self"),
    ("我想死，药都攒好了", "imminent", "self"),
    ("我在天台上准备跳", "imminent", "self"),
    ("买了炭，打算烧炭自杀", "imminent", "self"),
    ("我站在桥上，想跳下去", "imminent", "self"),
    # --- hyperbole nearby must not cancel a real signal ---
    ("累死了…不是开玩笑，我想死", "high", "self"),
    ("笑死，不过说真的我不想活了", "high", "self"),
    ("饿死了。其实我一直想自杀", "high", "self"),
    # --- spacing, punctuation, homophones, abbreviations, typos ---
    ("自 杀", "high", "self"),
    ("我 想 死", "high", "self"),
    ("想-自-杀", "high", "self"),
    ("我想紫砂", "high", "self"),
    ("想自鲨", "high", "self"),
    ("好想自s", "high", "self"),
    ("我想zs", "high", "self"),
    ("又想zc了", "high", "self"),
    ("想跳搂", "high", "self"),
    ("割婉了", "imminent", "self"),
    ("ＷＡＮＴ ＴＯ ＤＩＥ", "high", "self"),
    # --- traditional characters ---
    ("我想自殺", "high", "self"),
    ("我不想活了，真的撐不下去", "high", "self"),
    ("想結束自己的生命", "high", "self"),
    ("最近一直想輕生", "high", "self"),
    ("睡著了就不要醒來", "high", "self"),
    ("我已經吃了一整瓶安眠藥", "imminent", "self"),
    ("老公又打我了", "high", "domestic_violence"),
    # --- domestic violence ---
    ("老公打我", "high", "domestic_violence"),
    ("他又打我了，我好怕", "high", "domestic_violence"),
    ("被老公打得鼻青脸肿", "high", "domestic_violence"),
    ("家暴怎么办，我不敢回家", "high", "domestic_violence"),
    ("我爸喝醉了就打我妈", "high", "domestic_violence"),
    ("他说要杀了我", "high", "domestic_violence"),
    ("他拿着刀在门口，说要砍死我", "imminent", "domestic_violence"),
    ("my husband beats me", "high", "domestic_violence"),
    ("he hits me when he drinks", "high", "domestic_violence"),
    ("my boyfriend threatened to kill me", "high", "domestic_violence"),
    # --- threats to others ---
    ("我要杀了他", "high", "others"),
    ("大不了跟他同归于尽", "high", "others"),
    ("我想拿刀砍楼上那家人", "imminent", "others"),
    ("I'm going to kill him", "high", "others"),
    ("I want to hurt my neighbour", "high", "others"),
    # --- third party ---
    ("我朋友说他想死", "high", "third_party"),
    ("邻居要跳楼", "imminent", "third_party"),
    ("我妈最近总说不想活了", "high", "third_party"),
    ("楼上有人站在天台上要跳楼", "imminent", "third_party"),
    ("同学在割腕", "high", "third_party"),
    ("my friend wants to kill himself", "high", "third_party"),
    ("my mom says she wants to die", "high", "third_party"),
    ("someone is on the roof of building 3", "imminent", "third_party"),
    ("my neighbour is talking about suicide", "high", "third_party"),
    # --- English ---
    ("I want to die", "high", "self"),
    ("i wanna die", "high", "self"),
    ("I want to kill myself", "high", "self"),
    ("thinking about ending my life", "high", "self"),
    ("I'm suicidal", "high", "self"),
    ("everyone would be better off without me", "high", "self"),
    ("I wish I was dead", "high", "self"),
    ("I don't want to wake up tomorrow", "high", "self"),
    ("i cant go on anymore", "high", "self"),
    ("I've been cutting myself again", "high", "self"),
    ("i want to hurt myself", "high", "self"),
    ("kms", "high", "self"),
    ("thinking about sewer slide", "high", "self"),
    ("i want to unalive myself", "high", "self"),
    ("I took all my sleeping pills", "imminent", "self"),
    ("I'm on the roof and going to jump", "imminent", "self"),
    ("I want to kill myself tonight", "imminent", "self"),
    ("I have a rope and I want to end it all", "imminent", "self"),
    ("I wrote my suicide note", "imminent", "self"),
    ("bleeding a lot and i cant stop the bleeding", "imminent", "self"),
    ("lol im dead. jk but seriously i want to die", "high", "self"),
    # --- second labelled batch (written after the first, kept as regression cases) ---
    ("活着太累了，我想一了百了", "high", None),
    ("我真的不想再活下去了", "high", None),
    ("感觉自己是个废物，不如去死", "high", None),
    ("今天晚上我就要结束这一切", "high", None),
    ("我把药都准备好了，今晚就吃", "imminent", None),
    ("我现在在28楼的天台上", "imminent", None),
    ("刚才用刀割了手腕，血一直流", "imminent", None),
    ("想从窗户跳下去", "imminent", None),
    ("我有好几次想过自杀", "high", None),
    ("我想吃安眠药自杀", "imminent", None),
    ("有时候觉得死了比活着轻松", "high", None),
    ("我恨我自己，想伤害自己", "high", None),
    ("他每天喝醉就打我和孩子", "high", None),
    ("我老公掐我脖子，我很害怕", "high", None),
    ("前夫扬言要杀了我", "high", None),
    ("我要跟他拼了，拿刀去找他", "imminent", None),
    ("我隔壁的老人说活着没意思想死", "high", None),
    ("我女儿在房间里割腕了", "imminent", None),
    ("我儿子说要跳楼", "high", None),
    ("朋友发消息说要和大家告别，还说想死", "high", None),
    ("我不想活了啦", "high", None),
    ("不想活鸟", "high", None),
    ("我想sǐ", "high", None),
    ("覺得活著沒意思", "high", None),
    ("我想結束這一切", "high", None),
    ("他又動手打我了", "high", None),
    ("我想跳樓", "high", None),
    ("I don't want to be alive anymore", "high", None),
    ("I'm going to end my life tonight", "imminent", None),
    ("i just want to disappear forever", "high", None),
    ("I've been thinking about suicide a lot", "high", None),
    ("I took a bottle of pills", "imminent", None),
    ("my dad hits my mom every night", "high", None),
    ("I'm scared my husband will kill me", "high", None),
    ("my roommate said she wants to end her life", "high", None),
    ("I'm standing on the bridge", "imminent", None),
    ("nobody would miss me if I died", "high", None),
    ("I have no reason to live", "high", None),
    ("i want to end it", "high", None),
    ("I want to stab him", "high", None),
    ("life is meaningless, I want to die", "high", None),
    ("im going to kill myself", "high", None),
    ("i'm gonna kill myself tonight", "imminent", None),
    ("I hurt myself on purpose again", "high", None),
    ("我不活了", "high", None),
    ("我要去死了，再见", "high", None),
    ("我快撑不住了，想死", "high", None),
    ("还不如死了算了", "high", None),
    ("这日子没法过了，想死的心都有", "high", None),
    ("让我死了吧", "high", None),
    ("不想活了，太累了", "high", None),
    ("我好想去死啊", "high", None),
    ("我觉得活着好痛苦，不如死了", "high", None),
    ("这个世界没有我会更好吧", "high", None),
    ("我准备跳河", "imminent", None),
    ("已经在江边了，再见了大家", "imminent", None),
    ("我割了好几刀", "high", None),
    ("最近又开始自残了", "high", None),
    ("他把我打得站不起来", "high", None),
    ("老公拿皮带抽我", "high", None),
    ("我要杀了那个畜生", "high", None),
    ("想和他同归于尽", "high", None),
    ("我同事说她想轻生", "high", None),
    ("楼下有个女孩要跳楼", "imminent", None),
    ("孩子说想死", "high", None),
    ("我的人生没有意义了，想结束生命", "high", None),
    ("想自殺", "high", None),
    ("不想活了ㄚ", "high", None),
    ("我想si了", "high", None),
    ("活着没意义", "high", None),
    ("I want to die so bad", "high", None),
    ("i really want to kill myself", "high", None),
    ("no point living anymore", "high", None),
    ("I wish I could go to sleep and never wake up", "high", None),
    ("I'm planning to kill myself", "high", None),
    ("I've swallowed all my pills", "imminent", None),
    ("my wife hits me", "high", None),
    ("he beat me again last night", "high", None),
    ("my son said he wants to kill himself", "high", None),
    ("I'm going to jump", "imminent", None),
    ("i'm cutting again", "high", None),
    ("I want to hurt someone", "high", None),
    ("I feel like ending everything", "high", None),
    ("goodbye everyone, this is the end", "high", None),
    ("我在桥上，想跳", "imminent", None),
    ("好想一睡不醒", "high", None),
    ("要是能一直睡下去就好了", "high", None),
    ("我是大家的负担", "high", None),
    ("想找个地方安静地死去", "high", None),
    ("今天想把自己了结了", "high", None),
    # --- mixed language ---
    ("好累 i just want to die", "high", "self"),
    ("I want to 自杀", "high", "self"),
]

NOT_CRISIS: list[str] = [
    # hyperbole with 死
    "笑死我了",
    "哈哈哈笑死",
    "今天累死了",
    "饿死了，中午吃什么",
    "热死了，空调坏了",
    "冷死了",
    "困死了，昨天加班",
    "吓死我了，楼下突然一声巨响",
    "烦死了，快递又没到",
    "这个天气要热死人了",
    "忙得要死",
    "好久不见，想死你了",
    "宝宝想死你们啦",
    "电脑死机了",
    "手机又死机了怎么办",
    "这条路是个死胡同",
    "他是我死党",
    "痛死了，牙疼",
    "作业多到爆，尴尬死了",
    # 跳楼 / 自杀 / 烧炭 / 紫砂 as idioms or products
    "跳楼价大甩卖，快来",
    "超市跳楼价清仓",
    "游乐园的跳楼机好刺激",
    "周末烧炭烤肉，有人一起吗",
    "买了一把紫砂壶",
    "紫砂杯怎么保养",
    "双十一秒杀",
    "手机杀毒软件推荐一下",
    "菜市场杀价好厉害",
    # titles and media
    "最近在看《活着》",
    "《我想死》这本书好看吗",
    "推荐一部电影《自杀小队》",
    "看了《遗书》这部电影，很感人",
    # asking about hotlines / prevention / information
    "自杀预防热线是多少",
    "心理援助热线电话多少",
    "社区有没有预防青少年自杀的讲座",
    "我想要自杀干预热线的号码，帮朋友存着",
    "What is the suicide prevention hotline number?",
    "Is there a suicide hotline in China?",
    # distress without risk markers (psych, not crisis)
    "最近老是失眠",
    "好孤独，没人说话",
    "压力好大",
    "工作压力大，每天都很焦虑",
    "心情不好，想找人聊聊",
    "奶奶去世了，我很难过",
    "我最近有点抑郁",
    "睡不着觉，脑子里很乱",
    "I feel so lonely",
    "I'm stressed about work",
    "I can't sleep at night",
    "feeling a bit down lately",
    # everyday language that shares words with the lexicon
    "我已经吃了，你们先吃",
    "今晚吃什么",
    "我在楼顶晒被子",
    "天台的门锁坏了",
    "楼顶漏水了",
    "菜刀钝了，哪里可以磨刀",
    "药店几点关门",
    "我昨晚吃了安眠药才睡着",
    "孩子在学校打疫苗了",
    "老公打我电话没接，帮我看看",
    "他打我手机好几次",
    "楼下孩子天天要跳绳，太吵了",
    "他被打败了，游戏输了",
    "我不想死，我只是很累",
    "我不会伤害自己的，放心",
    "电视剧里的角色自杀了，剧情好虐",
    "I cut myself shaving this morning",
    "my back is killing me",
    "I could die laughing",
    "this cake is to die for",
    "I'm dying to try the new canteen",
    "I'm not suicidal, just tired",
    "we need to kill time before the meeting",
    "the deadline is killing me",
    "the new bridge near the park is closed",
    "I'm on the roof fixing the antenna",
    "I took my pills this morning",
    "I killed it at the job interview",
    "the roof is leaking again",
    "I need to dye my hair",
    "How do I register my dog?",
    # second batch
    "我快被热死了",
    "今天的作业多得要死",
    "笑死人了这个视频",
    "我想死你们了，什么时候聚",
    "电脑又死机了，气死我了",
    "这家店跳楼价处理，快去",
    "小区门口开了家烧烤店",
    "天台的水箱漏了",
    "我家楼顶的太阳能热水器坏了",
    "孩子玩游戏的时候一直在喊杀了他",
    "我要去医院拿药",
    "药吃完了，去哪里开药",
    "老公今天打我电话说晚点回来",
    "我刚才切菜不小心割到手了",
    "刀具怎么处理，属于什么垃圾",
    "邻居家的狗死了",
    "我奶奶去年去世了",
    "死亡证明怎么开",
    "你们有心理危机干预热线吗",
    "预防自杀的宣传资料哪里有",
    "I'm so tired I could sleep for a week",
    "this traffic is killing me",
    "I nearly died laughing",
    "kill the lights please",
    "my phone died",
    "the plants on the rooftop garden are dead",
    "I want to die my hair blue",
    "Where is the suicide prevention hotline?",
    "he killed it on stage",
    "我累了想休息",
    "最近很难过",
    "压力大得想哭",
    "失恋了好难受",
    "好想消失一下，太尴尬了",
    "生活好难",
    "这个月又穷死了",
    "烦死了，又下雨",
    "今天热得要死",
    "我要杀价，太贵了",
    "鱼死网破的电视剧",
    "剧里的主角最后跳楼了",
    "最近在读《自杀论》",
    "刀郎的演唱会",
    "我已经吃了晚饭",
    "楼顶可以晒被子吗",
    "这破手机慢死了",
    "我要被老板气死了",
    "今天上班累成狗，累死了",
    "想你想得要死",
    "这道菜好吃到死",
    "跳楼机排队好长",
    "我买了紫砂锅",
    "刚看完电影《活着》好难过",
    "小区门口卖刀的摊位",
    "楼上在剁肉，刀声好吵",
    "请问社区有心理咨询吗",
    "睡眠不好，怎么办",
    "我最近很焦虑",
    "我一个人住好无聊",
    "爷爷住院了，我很担心",
    "the heat is killing me",
    "I'm dead tired",
    "I could kill for a pizza",
    "he died in 2019, I still miss him",
    "I'm dying of boredom",
    "my knee hurts",
    "we were on the roof watching fireworks",
    "the bridge is closed for repairs",
    "how do I dispose of old pills",
    "the rope swing in the playground is broken",
    "谁能帮我把天台的门打开",
    "我要投诉楼上的人往下扔东西",
    "我家孩子在学校被同学打了一下",
    "你好，我想咨询一下低保",
    "我想提一个建议",
    "活着就要开心",
    "我从来没想过自杀",
    "我不想死在这个破公司",
    "心理援助热线12356是24小时吗",
    "我朋友推荐我来咨询心理问题",
    "路灯坏了好几天",
    "楼上太吵了",
    "你好",
]


@pytest.mark.parametrize(("text", "severity", "kind"), CRISIS)
def test_crisis_message_detected(
    screen: CrisisScreen, text: str, severity: str, kind: str | None
) -> None:
    """Each labelled crisis message is a crisis with the expected severity and kind."""
    result = screen.screen(text)
    assert result.is_crisis, (text, screen.prepare(text))
    assert result.severity == severity, (text, result)
    if kind is not None:
        assert result.kind == kind, (text, result)
    assert result.signals


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_tricky_message_not_crisis(screen: CrisisScreen, text: str) -> None:
    """Hyperbole, titles, hotline questions and plain distress are not crises."""
    result = screen.screen(text)
    assert not result.is_crisis, (text, result, screen.prepare(text))
    assert result == CrisisResult(None, None, ())


def test_sets_are_large_enough() -> None:
    """The labelled sets keep at least 60 cases each (safety.md asks for more over time)."""
    assert len(CRISIS) >= 60
    assert len(NOT_CRISIS) >= 60
    assert len({text for text, _, _ in CRISIS}) == len(CRISIS)
    assert len(set(NOT_CRISIS)) == len(NOT_CRISIS)


def test_exception_neutralises_only_its_own_span(screen: CrisisScreen) -> None:
    """Hyperbole elsewhere in the message never cancels a strong signal."""
    assert not screen.screen("累死了").is_crisis
    assert screen.screen("累死了…不是开玩笑，我想死").severity == "high"
    assert screen.screen("跳楼价买的绳子，今晚就用它上吊").severity == "imminent"
    assert screen.screen("想死你了！哈哈，不过我最近真的想自杀").is_crisis
    assert not screen.screen("笑死，《想死》这首歌好好听").is_crisis


def test_detector_error_fails_safe() -> None:
    """Any exception inside the screen counts as a crisis."""
    screen = CrisisScreen.load()
    result = screen.screen(12345)  # type: ignore[arg-type]
    assert result == CrisisResult("high", "self", ("detector_error",))
    assert result.is_crisis


def test_load_from_custom_file(tmp_path: Path) -> None:
    """A deployment can supply its own lexicon file."""
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "signals:\n  ideation:\n    terms: [不想上班]\nexceptions: ['不想上班(?:了吗)']\n",
        encoding="utf-8",
    )
    custom = CrisisScreen.load(path)
    assert custom.screen("我不想上班").severity == "high"
    assert not custom.screen("你不想上班了吗").is_crisis
    assert not custom.screen("我想死").is_crisis


def test_bad_lexicon_is_rejected(tmp_path: Path) -> None:
    """Unknown groups are a loading error, not a silent miss."""
    path = tmp_path / "lexicon.yaml"
    path.write_text("signals:\n  sadness:\n    terms: [难过]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sadness"):
        CrisisScreen.load(path)


def test_empty_and_huge_messages(screen: CrisisScreen) -> None:
    """Empty, emoji-only and very long texts are screened without error."""
    assert not screen.screen("").is_crisis
    assert not screen.screen("   ").is_crisis
    assert not screen.screen("😀😀😀").is_crisis
    assert not screen.screen("路灯坏了" * 5000).is_crisis
    assert screen.screen("路灯坏了" * 5000 + "我想死").is_crisis
