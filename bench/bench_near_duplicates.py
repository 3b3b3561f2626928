"""Near-duplicate detection on 100,000 stored questions, against an exact-key baseline.

Usage (from the repository root; PostgreSQL on 127.0.0.1:5432, user postgres):

    python bench/bench_near_duplicates.py [--rows 100000] [--edited 1000]

The database (default medexam_bench_near_duplicates) is created if missing,
migrated and emptied of questions. Stems are generated here from a fixed seed:
random sequences of clinical phrases, plus --edited copies of random stems with
one to three characters replaced, inserted or deleted. The edited copies are
the near-duplicates the search must find. Phases, timed on the same data:

1. baseline: the exact-key scan the importer used before, which folds every
   stored stem and matches equal ones only (finds no edited copy);
2. near_duplicates_refresh on stored questions without signatures (computes
   and saves them, then groups);
3. near_duplicates_refresh again (signatures already stored);
4. a dry-run import of a file holding --edited further edited copies,
   compared with the 100,000 stored questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHRASES = (
    "患者 男性 女性 老年 青年 儿童 孕妇 发热 寒战 胸痛 胸闷 心悸 气短 咳嗽 咳痰 咯血 "
    "呼吸困难 腹痛 腹泻 便秘 黑便 呕血 恶心 呕吐 黄疸 水肿 少尿 多尿 血尿 蛋白尿 头痛 头晕 "
    "抽搐 昏迷 偏瘫 失语 视物模糊 皮疹 瘙痒 红斑 水疱 脱屑 关节痛 乏力 消瘦 多饮 多食 "
    "血压升高 血压下降 心率增快 心率减慢 心电图 超声心动图 冠状动脉造影 胸部CT 头颅MRI "
    "胃镜 肠镜 肝功能 肾功能 血常规 尿常规 血糖 糖化血红蛋白 甲状腺功能 肿瘤标志物 "
    "病理活检 骨髓穿刺 腰椎穿刺 首选治疗 首选检查 最可能的诊断 鉴别诊断 并发症 预后 "
    "阿司匹林 氯吡格雷 他汀 硝酸甘油 美托洛尔 胰岛素 二甲双胍 糖皮质激素 抗生素 利尿剂 "
    "化疗 放疗 手术切除 介入治疗 透析 观察随访 既往史 家族史 吸烟史 饮酒史 高血压病史 "
    "糖尿病病史 查体 听诊 触诊 叩诊 实验室检查 影像学检查 入院 急诊 门诊 术后 复查"
).split()


def random_stem(rng: random.Random) -> str:
    words = rng.sample(PHRASES, rng.randint(8, 14))
    return f"患者{rng.randint(18, 90)}岁，" + "，".join(words) + "。下列哪项正确？"


def edit(stem: str, rng: random.Random) -> str:
    """Replace, insert or delete one to three characters of stem."""
    chars = list(stem)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(chars))
        kind = rng.choice("rid")
        if kind == "r":
            chars[position] = rng.choice("的了和与及或在为是有无")
        elif kind == "i":
            chars.insert(position, rng.choice("的了和与及或在为是有无"))
        elif len(chars) > 10:
            del chars[position]
    return "".join(chars)


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def exact_key(stem: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", stem).lower())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Stored questions.")
    parser.add_argument(
        "--edited", type=int, default=1000, help="Edited copies, stored and in the file."
    )
    parser.add_argument(
        "--database", default="medexam_bench_near_duplicates", help="PostgreSQL database."
    )
    args = parser.parse_args()

    ensure_database(args.database)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from medexam.models import Question
    from medexam.models.questions import compute_content_hash
    from medexam.services.imports import import_job_create, import_job_execute
    from medexam.services.near_duplicates import near_duplicate_threshold, near_duplicates_refresh

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE medexam_question, medexam_questionchange CASCADE")

    rng = random.Random(20261205)
    originals = [random_stem(rng) for _ in range(args.rows - args.edited)]
    sources = rng.sample(range(len(originals)), args.edited)
    stems = originals + [edit(originals[index], rng) for index in sources]
    options = {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": "戊"}
    Question.objects.bulk_create(
        [
            Question(
                stem=stem,
                options=options,
                answer_key="A",
                source="bench",
                content_hash=compute_content_hash(stem, options),
            )
            for stem in stems
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    ids = dict(Question.objects.values_list("stem", "pk"))

    # Baseline: fold every stored stem and group equal keys.
    started = time.perf_counter()
    by_key: dict[str, list[int]] = {}
    for pk, stem in Question.objects.values_list("pk", "stem").iterator(chunk_size=5000):
        by_key.setdefault(exact_key(stem), []).append(pk)
    exact_groups = sum(1 for members in by_key.values() if len(members) > 1)
    baseline_s = time.perf_counter() - started

    started = time.perf_counter()
    groups_first = near_duplicates_refresh()
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    groups_again = near_duplicates_refresh()
    again_s = time.perf_counter() - started

    group_of = dict(Question.objects.values_list("pk", "near_duplicate_group"))
    found = 0
    for position, index in enumerate(sources):
        original = group_of.get(ids[originals[index]])
        copy = group_of.get(ids.get(stems[len(originals) + position], -1))
        found += original is not None and original == copy

    file_sources = rng.sample(range(len(originals)), args.edited)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "edited.jsonl"
        path.write_text(
            "".join(
                json.dumps(
                    {"stem": edit(originals[index], rng), "options": options, "answer": "A"},
                    ensure_ascii=False,
                )
                + "\n"
                for index in file_sources
            ),
            encoding="utf-8",
        )
        started = time.perf_counter()
        report = import_job_execute(
            job_id=import_job_create(path=path, file_format="jsonl", dry_run=True).pk
        )
        import_s = time.perf_counter() - started
    linked_to_stored = sum(1 for group in report.near_duplicates if group["question_ids"])

    print(
        f"stored questions: {Question.objects.count()}, edited copies: {args.edited}, "
        f"threshold {near_duplicate_threshold()}, database {args.database}"
    )
    print(f"{'phase':<58}{'seconds':>9}{'vs baseline':>13}")
    for label, seconds in [
        ("baseline: exact folded-stem scan", baseline_s),
        ("refresh, signatures computed and saved", first_s),
        ("refresh, signatures stored", again_s),
        (f"dry-run import of {args.edited} edited rows against the bank", import_s),
    ]:
        print(f"{label:<58}{seconds:>9.2f}{seconds / baseline_s:>12.1f}x")
    print(f"exact scan: {exact_groups} groups of equal folded stems")
    print(
        f"refresh: {groups_first} groups (again: {groups_again}); "
        f"{found} of {args.edited} stored edited copies grouped with their original"
    )
    print(f"import: {linked_to_stored} of {args.edited} file rows listed with a stored question")


if __name__ == "__main__":
    main()
