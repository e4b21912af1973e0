"""Tokenization throughput: the project's path versus plain ``jieba.lcut`` on the same calls.

Usage: ``python benchmarks/tokenize_throughput.py [--calls 10000] [--workers N]``

Calls come from ``complaints simulate`` when the simulator is available, else
from ``data/sample``, else from a small generator here. Prints calls/s and
chars/s for: plain ``jieba.lcut`` (global dictionary, no cleaning), our
``tokenize`` (normalize + lexicon + domain dictionary + stopwords) on raw
transcripts, ``tokenize(clean=False)`` on prepared customer text, and
``tokenize_many`` across processes.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _from_simulator(n: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        days = min(10, max(1, n // 2000))
        cmd = [sys.executable, "-m", "cli.main", "simulate", "--out", tmp, "--days", str(days), "--seed", "7"]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            print(f"(simulator unavailable: {done.stderr.strip()[-200:]})", file=sys.stderr)
            return []
        return _from_folder(Path(tmp), n)


def _from_folder(folder: Path, n: int) -> list[str]:
    from pipeline.ingest import IngestError, read_export

    if not folder.exists():
        return []
    try:
        records = read_export(folder).records
    except IngestError:
        return []
    texts = [r.transcript for r in records]
    while texts and len(texts) < n:
        texts = texts + texts
    return texts[:n]


def _generated(n: int) -> list[str]:
    rng = random.Random(7)
    problems = [
        "我屋头莫得电了，咋个回事嘛，都停了三个小时了",
        "这个月店费突然翻倍了，电表是不是走得快",
        "晚上灯一闪一闪的，电压太低，电饭锅煮不熟饭",
        "新房子装表接电申请了半个月还没人来",
        "调闸好几次了，抢修的人答应来到现在还没来",
        "我家屋顶的光伏并网申请一直没有批下来",
        "门口电线杆歪了，离房子太近，怕出事",
    ]
    extra = [
        "老人在家用不了制氧机",
        "冰箱里的东西都坏了",
        "再不处理我就打12398投诉",
        "我已经打了好几次了",
        "",
    ]
    texts = []
    for i in range(n):
        texts.append(
            "坐席：您好，国家电网95598，很高兴为您服务，请问有什么可以帮您？\n"
            f"客户：{rng.choice(problems)}，{rng.choice(extra)}。户号是05{rng.randrange(10**8):08d}。\n"
            f"坐席：好的，我给您登记，工单编号是2026{i:09d}，稍后会有工作人员回访。"
        )
    return texts


def load_calls(n: int) -> tuple[list[str], str]:
    """Transcripts of ``n`` calls and where they came from."""
    for source, make in (
        ("simulator", lambda: _from_simulator(n)),
        ("data/sample", lambda: _from_folder(REPO / "data" / "sample", n)),
    ):
        try:
            texts = make()
        except Exception as err:  # noqa: BLE001 - any failure means: try the next source
            print(f"({source} unavailable: {type(err).__name__}: {err})", file=sys.stderr)
            texts = []
        if texts:
            return texts, source
    return _generated(n), "built-in generator"


def measure(name: str, texts: list[str], run: Callable[[list[str]], object]) -> None:
    chars = sum(map(len, texts))
    start = time.perf_counter()
    run(texts)
    seconds = time.perf_counter() - start
    print(
        f"{name:<44} {len(texts) / seconds:>10,.0f} calls/s {chars / seconds / 1e6:>8.3f} M chars/s {seconds:>7.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    import jieba

    from pipeline.text import customer_text, tokenize, tokenize_many
    from pipeline.text.tokenize import get_tokenizer

    texts, source = load_calls(args.calls)
    print(f"{len(texts)} calls from {source}, {sum(map(len, texts)) / len(texts):.0f} chars on average")
    jieba.initialize()
    get_tokenizer()
    tokenize("预热")
    prepared = [customer_text(t) for t in texts]

    measure("jieba.lcut (plain, global dict)", texts, lambda ts: [jieba.lcut(t) for t in ts])
    measure("jieba.lcut(HMM=False)", texts, lambda ts: [jieba.lcut(t, HMM=False) for t in ts])
    measure("tokenize (normalize+lexicon+dict+stopwords)", texts, lambda ts: [tokenize(t) for t in ts])
    measure(
        "tokenize(clean=False) on customer_text", prepared, lambda ts: [tokenize(t, clean=False) for t in ts]
    )
    measure("customer_text (prepare only)", texts, lambda ts: [customer_text(t) for t in ts])
    measure(
        f"tokenize_many, {args.workers} processes", texts, lambda ts: tokenize_many(ts, workers=args.workers)
    )


if __name__ == "__main__":
    main()
