"""The karaoke coach's scores: saved per track, a personal best per difficulty, bad input refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.ingest import ingest
from library.models import Score


@pytest.fixture
def track(alice, song_wav):
    with open(song_wav, "rb") as f:
        return ingest(alice, SimpleUploadedFile("a.wav", f.read())).track


def url(track):
    return f"/api/tracks/{track.pk}/scores/"


def test_a_track_never_sung_has_no_personal_best(alice_api, track):
    response = alice_api.get(url(track))
    assert response.status_code == 200
    assert response.json() == {"personal_best": {"easy": None, "medium": None, "hard": None}, "recent": []}


def test_scores_are_saved_and_the_best_at_each_difficulty_is_kept(alice_api, track):
    first = alice_api.post(url(track), {"score": 7100, "difficulty": "medium"}, format="json")
    assert first.status_code == 201
    assert first.json()["new_best"] is True
    assert first.json()["personal_best"] == {"easy": None, "medium": 7100, "hard": None}

    worse = alice_api.post(url(track), {"score": 6000, "difficulty": "medium"}, format="json").json()
    assert worse["new_best"] is False and worse["personal_best"]["medium"] == 7100
    better = alice_api.post(url(track), {"score": 8412, "difficulty": "medium"}, format="json").json()
    assert better["new_best"] is True and better["personal_best"]["medium"] == 8412
    # Another difficulty is another contest.
    hard = alice_api.post(url(track), {"score": 10000, "difficulty": "hard"}, format="json").json()
    assert hard["personal_best"] == {"easy": None, "medium": 8412, "hard": 10000}

    listed = alice_api.get(url(track)).json()
    assert listed["personal_best"] == {"easy": None, "medium": 8412, "hard": 10000}
    assert [(s["score"], s["difficulty"]) for s in listed["recent"]] == [
        (10000, "hard"),
        (8412, "medium"),
        (6000, "medium"),
        (7100, "medium"),
    ]
    assert listed["recent"][0]["sung_at"].endswith("Z")


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"score": 10001, "difficulty": "easy"}, "score: Ensure this value is less than or equal to 10000."),
        ({"score": -1, "difficulty": "easy"}, "score: Ensure this value is greater than or equal to 0."),
        ({"score": 8412.5, "difficulty": "easy"}, "score: A valid integer is required."),
        ({"score": "8412", "difficulty": "easy"}, "score: A valid integer is required."),
        ({"score": True, "difficulty": "easy"}, "score: A valid integer is required."),
        ({"score": None, "difficulty": "easy"}, "score: This field may not be null."),
        ({"difficulty": "easy"}, "score: This field is required."),
        ({"score": 5000, "difficulty": "expert"}, 'difficulty: "expert" is not a valid choice.'),
        ({"score": 5000}, "difficulty: This field is required."),
    ],
)
def test_bad_scores_are_refused_with_a_precise_message(alice_api, track, payload, message):
    response = alice_api.post(url(track), payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == message, response.json()
    assert not Score.objects.exists()


def test_someone_elses_track_has_no_scores_to_read_or_add(alice_api, bob_api, track):
    alice_api.post(url(track), {"score": 9000, "difficulty": "easy"}, format="json")
    assert bob_api.get(url(track)).status_code == 404
    assert bob_api.post(url(track), {"score": 10000, "difficulty": "easy"}, format="json").status_code == 404
    assert list(Score.objects.values_list("score", flat=True)) == [9000]


def test_scores_go_with_their_track(alice_api, track):
    alice_api.post(url(track), {"score": 9000, "difficulty": "easy"}, format="json")
    track.delete()
    assert not Score.objects.exists()
