"""Seed the benchmark's seven specialties and two professional levels.

Keywords are the curator-facing suggestion rules' starting point; curators
edit them, and a deployment adds specialties of its own, in the admin.
"""

from django.db import migrations

SPECIALTIES = [
    (
        "cardiovascular",
        "心血管内科",
        "Cardiovascular medicine",
        ["心内", "心血管", "心力衰竭", "心衰", "心肌梗死", "心梗", "心绞痛", "冠心病", "冠状动脉",
         "心房颤动", "房颤", "室性", "心律失常", "高血压", "心肌病", "心包", "瓣膜", "二尖瓣",
         "主动脉瓣", "心电图", "ST段", "QRS", "心动过速", "心动过缓", "房室传导阻滞", "心肌炎"],
    ),
    (
        "dermatology",
        "皮肤科",
        "Dermatology",
        ["皮肤", "皮疹", "湿疹", "银屑病", "荨麻疹", "痤疮", "天疱疮", "红斑", "丘疹", "疱疹",
         "白癜风", "真菌感染", "癣", "梅毒", "性病", "瘙痒", "鳞屑", "皮炎"],
    ),
    (
        "endocrinology",
        "内分泌科",
        "Endocrinology",
        ["内分泌", "糖尿病", "血糖", "胰岛素", "甲状腺", "甲亢", "甲减", "肾上腺", "库欣",
         "醛固酮", "垂体", "骨质疏松", "痛风", "尿酸", "糖化血红蛋白", "酮症", "嗜铬细胞瘤"],
    ),
    (
        "gastroenterology",
        "消化内科",
        "Gastroenterology",
        ["消化", "胃", "十二指肠", "溃疡", "幽门螺杆菌", "肝硬化", "肝炎", "胰腺炎", "胆囊",
         "胆管", "结肠", "克罗恩", "腹泻", "便血", "黄疸", "食管", "腹水", "内镜", "肠梗阻"],
    ),
    (
        "neurology",
        "神经内科",
        "Neurology",
        ["神经内", "脑梗死", "脑出血", "脑卒中", "卒中", "癫痫", "帕金森", "偏瘫", "头痛",
         "眩晕", "脑膜炎", "多发性硬化", "重症肌无力", "周围神经", "痴呆", "蛛网膜下腔"],
    ),
    (
        "nephrology",
        "肾内科",
        "Nephrology",
        ["肾内", "肾小球", "肾病综合征", "肾炎", "蛋白尿", "血尿", "肾衰竭", "肾功能", "肌酐",
         "透析", "尿毒症", "肾小管", "IgA肾病", "急性肾损伤"],
    ),
    (
        "oncology",
        "肿瘤科",
        "Oncology",
        ["肿瘤", "癌", "恶性", "化疗", "放疗", "转移", "淋巴瘤", "白血病", "靶向治疗", "肉瘤",
         "TNM", "分期", "肿瘤标志物"],
    ),
]

LEVELS = [
    ("attending", "主治医师（中级职称）", "Attending physician (intermediate title)", 1),
    ("senior", "副主任/主任医师（高级职称）", "Senior physician (associate chief / chief)", 2),
]


def seed(apps, schema_editor):
    Specialty = apps.get_model("medexam", "Specialty")
    Level = apps.get_model("medexam", "Level")
    for code, name_zh, name_en, keywords in SPECIALTIES:
        Specialty.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "keywords": keywords}
        )
    for code, name_zh, name_en, rank in LEVELS:
        Level.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "rank": rank}
        )


def unseed(apps, schema_editor):
    apps.get_model("medexam", "Specialty").objects.filter(
        code__in=[row[0] for row in SPECIALTIES], questions__isnull=True
    ).delete()
    apps.get_model("medexam", "Level").objects.filter(
        code__in=[row[0] for row in LEVELS], questions__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("medexam", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
