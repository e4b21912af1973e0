"""Lexicon fixes and tokenization with the domain dictionary."""

from __future__ import annotations

import pytest

from pipeline.text import apply_lexicon, load_lexicon, tokenize, tokenize_many
from pipeline.text.tokenize import get_tokenizer

DOMAIN_WORDS = ["装表接电", "低电压", "跳闸", "台区", "阶梯电价", "光伏并网", "增容", "过户", "抢修"]


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("莫得电了", "没有电了"),
        ("咋个办嘛", "怎么办嘛"),
        ("店费太高了", "电费太高了"),
        ("又调闸了", "又跳闸了"),
        ("啥子时候来电", "什么时候来电"),
        ("抢休的人还没来", "抢修的人还没来"),
        ("光扶并网申请", "光伏并网申请"),
    ],
)
def test_lexicon_fixes(raw, fixed):
    assert apply_lexicon(raw) == fixed


@pytest.mark.parametrize(
    "correct", ["系统升级", "空调坏了", "饭店费用", "调整电价", "我听电话说", "好多次了"]
)
def test_lexicon_does_not_break_correct_words(correct):
    assert apply_lexicon(correct) == correct


def test_lexicon_is_idempotent_over_all_entries():
    entries = load_lexicon()
    assert len(entries) >= 200
    for target in set(entries.values()):
        assert apply_lexicon(target) == target, target


def test_user_lexicon_extends_the_bundled_one(tmp_path, monkeypatch):
    from pipeline import config
    from pipeline.text import reset_caches

    user = tmp_path / "mine.tsv"
    user.write_text("# 本地\n断点\t断电\n", encoding="utf-8")
    cfg = tmp_path / "complaints.toml"
    cfg.write_text(f'[text]\nlexicon = ["{user}"]\n', encoding="utf-8")
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(cfg))
    config._toml.cache_clear()
    reset_caches()
    try:
        assert apply_lexicon("又断点了，店费") == "又断电了，电费"
    finally:
        monkeypatch.delenv("COMPLAINTS_CONFIG")
        config._toml.cache_clear()
        reset_caches()
    assert apply_lexicon("断点") == "断点"


@pytest.mark.parametrize("word", DOMAIN_WORDS)
def test_domain_words_survive(word):
    assert word in tokenize(f"我们这边{word}的事情一直没有解决")


def test_stopwords_and_punctuation_removed_but_negation_kept():
    tokens = tokenize("我家的电，又没有来！")
    assert "的" not in tokens and "，" not in tokens and "！" not in tokens
    assert "没有" in tokens and "又" in tokens


def test_tokenize_cleans_raw_transcripts(call):
    tokens = tokenize(call)
    assert "坐席" not in tokens
    assert "电费" in tokens and "跳闸" in tokens
    assert "店费" not in tokens


def test_dedicated_tokenizer_leaves_global_jieba_alone():
    import jieba

    assert get_tokenizer() is not jieba.dt
    assert get_tokenizer() is get_tokenizer()
    tokenize("河尾村变压器跳闸")
    assert "装表接电" not in jieba.dt.FREQ or jieba.dt.FREQ["装表接电"] == 0


def test_rust_and_python_jieba_cut_the_same_words(monkeypatch):
    from pipeline.text.resources import dict_files
    from pipeline.text.tokenize import Segmenter, _load_dict

    texts = [
        "客户：我家这个月店费咋个比上个月多了三百块，阶梯电价是怎么算的",
        "坐席：您好。客户：村里又调闸了，变压器那边冒烟，抢修的人说好上午来到现在都没来",
        "光伏并网申请交了两个礼拜，装表接电一直没人联系，低电压空调都开不起来",
    ]
    rust, python = Segmenter("rjieba"), Segmenter("jieba")
    for path in dict_files():
        _load_dict(rust, path)
        _load_dict(python, path)
    for text in texts:
        for hmm in (True, False):
            assert rust.cut(text, hmm) == python.cut(text, hmm)


def test_unknown_segmenter_is_a_clear_error():
    from pipeline.text.tokenize import Segmenter

    with pytest.raises(ValueError, match="segmenter"):
        Segmenter("thulac")


def test_tokenize_many_matches_serial_in_processes():
    texts = [f"客户：第{i}次调闸了，装表接电好慢，店费{i}元" for i in range(2100)]
    serial = [tokenize(t) for t in texts[:50]]
    parallel = tokenize_many(texts, workers=2)
    assert len(parallel) == len(texts)
    assert parallel[:50] == serial
    assert parallel[-1] == tokenize(texts[-1])


def test_tokenize_many_small_batches_stay_in_process():
    assert tokenize_many(["店费", "跳闸"], workers=4) == [["电费"], ["跳闸"]]


def test_user_dictionary_and_stopwords_extend_the_bundled_ones(tmp_path, monkeypatch):
    from pipeline import config
    from pipeline.text import reset_caches

    user_dict = tmp_path / "mine.txt"
    user_dict.write_text("# 本地词\n河尾村变 5000 n\n", encoding="utf-8")
    user_stop = tmp_path / "stop.txt"
    user_stop.write_text("问题\n", encoding="utf-8")
    cfg = tmp_path / "complaints.toml"
    cfg.write_text(f'[text]\nuser_dict = "{user_dict}"\nstopwords = ["{user_stop}"]\n', encoding="utf-8")
    before = tokenize("河尾村变的问题")
    monkeypatch.setenv("COMPLAINTS_CONFIG", str(cfg))
    config._toml.cache_clear()
    reset_caches()
    try:
        after = tokenize("河尾村变的问题，跳闸")
    finally:
        monkeypatch.delenv("COMPLAINTS_CONFIG")
        config._toml.cache_clear()
        reset_caches()
    assert "河尾村变" not in before and "问题" in before
    assert "河尾村变" in after and "问题" not in after and "跳闸" in after
