"""MinHash/LSH near-duplicate grouping of stems (no database)."""

import numpy as np

from medexam import near_duplicates
from medexam.near_duplicates import (
    find_groups,
    fold_stem,
    jaccard,
    shingles,
    signature_from_bytes,
    signature_to_bytes,
    signatures,
)

EDITED_PAIR = (
    "患者男，62岁，突发胸骨后压榨样疼痛2小时，伴大汗，心电图示V1-V4导联ST段抬高，最可能的诊断是",
    "患者男性，62岁，突发胸骨后压榨性疼痛2小时，伴大汗。心电图示V1～V4导联ST段抬高，最可能的诊断为",
)
UNRELATED = "女，35岁，面部蝶形红斑伴关节痛半年，抗核抗体阳性，首选的治疗药物是"


def groups_of(stems, threshold=0.7):
    matrix = signatures(stems)
    found = find_groups(matrix, lambda indices: {i: stems[i] for i in indices}, threshold=threshold)
    return [(group.indices, group.similarity) for group in found]


def test_fold_ignores_width_punctuation_and_case():
    assert fold_stem("ＡＢＣ， 心衰？") == fold_stem("abc心衰")


def test_edited_stem_grouped():
    groups = groups_of([EDITED_PAIR[0], UNRELATED, EDITED_PAIR[1]])
    assert len(groups) == 1
    indices, similarity = groups[0]
    assert indices == [0, 2]
    assert 0.7 <= similarity < 1.0


def test_similarity_is_exact_jaccard():
    expected = jaccard(shingles(EDITED_PAIR[0]), shingles(EDITED_PAIR[1]))
    [(_indices, similarity)] = groups_of(list(EDITED_PAIR))
    assert similarity == round(expected, 3)


def test_threshold_above_similarity_drops_pair():
    similarity = jaccard(shingles(EDITED_PAIR[0]), shingles(EDITED_PAIR[1]))
    assert groups_of(list(EDITED_PAIR), threshold=min(similarity + 0.05, 1.0)) == []


def test_unrelated_stems_not_grouped():
    stems = [UNRELATED, "糖尿病酮症酸中毒的首选治疗是", "慢性肾衰竭患者高钾血症的紧急处理是"]
    assert groups_of(stems) == []


def test_chain_of_edits_forms_one_group():
    base = "患者女，48岁，反复双手近端指间关节肿痛伴晨僵2年，类风湿因子阳性，最可能的诊断是"
    stems = [base, base.replace("48岁", "50岁"), base.replace("2年", "3年").replace("48", "50")]
    [(indices, _similarity)] = groups_of(stems)
    assert indices == [0, 1, 2]


def test_template_bucket_stays_linear_and_grouped():
    # 600 equal stems share every band: neighbour pairing still joins them all.
    stems = ["下列哪项是高血压病的首选检查"] * 600 + [UNRELATED]
    pairs = near_duplicates.candidate_pairs(signatures(stems))
    assert len(pairs) <= 600 * near_duplicates._NEIGHBOURS_MAX
    [(indices, similarity)] = groups_of(stems)
    assert indices == list(range(600))
    assert similarity == 1.0


def test_signature_bytes_round_trip():
    signature = signatures([UNRELATED])[0]
    decoded = signature_from_bytes(signature_to_bytes(signature))
    assert decoded is not None
    assert np.array_equal(decoded, signature)


def test_signature_of_other_version_ignored():
    data = signature_to_bytes(signatures([UNRELATED])[0])
    assert signature_from_bytes(bytes([data[0] + 1]) + data[1:]) is None
    assert signature_from_bytes(b"") is None


def test_empty_input():
    assert signatures([]).shape == (0, near_duplicates.NUM_PERMUTATIONS)
    assert groups_of([]) == []
