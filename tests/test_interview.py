"""The interviewer state machine, driven with a fake grader: pure and fast (no model, no I/O)."""

from __future__ import annotations

import pytest

from interviewer.domain.grade import FLAG_EMPTY, Grade, band_for
from interviewer.session.interview import (
    COMMANDS,
    Card,
    Interview,
    Phase,
    SelectionError,
    build_pool,
    follow_up_for,
    hint_text,
    parse_command,
    plan_order,
    summarize,
)
from interviewer.session.phrasing import TEMPLATES, Phrasing
from interviewer.sources.rubric import FollowUp, KeyPoint, Misconception, Rubric

# ---- fixtures ---------------------------------------------------------------------------------------


def make_rubric(
    qid: str,
    *,
    topic: str = "cnn",
    level: str | None = "beginner",
    group: str | None = None,
    points: tuple[tuple[str, bool], ...] = (
        ("alpha point about filters", True),
        ("beta point about weights", True),
        ("gamma point about pooling", False),
    ),
    follow_ups: tuple[tuple[str, int], ...] = (),
    misconceptions: tuple[tuple[str, str], ...] = (),
    reference: str | None = "A reference answer.",
) -> Rubric:
    return Rubric(
        question_id=qid,
        bank="bank",
        question=f"Question {qid}?",
        topic=topic,
        difficulty=level,
        reference=reference,
        reference_source="bank" if reference else "none",
        key_points=[KeyPoint(text=t, essential=e, weight=2.0 if e else 1.0) for t, e in points],
        follow_ups=[FollowUp(question=q, probes=p) for q, p in follow_ups],
        misconceptions=[Misconception(claim=c, correction=f) for c, f in misconceptions],
        group=group,
    )


def cards_of(*rubrics: Rubric) -> list[Card]:
    return build_pool(list(rubrics), {})


class FakeGrader:
    """Scores by which key points' first word appears in the answer; 'strong'/'weak' force a score."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, rubric: Rubric, answer: str) -> Grade:
        self.calls.append((rubric.question_id, answer))
        text = answer.lower()
        if not text.strip():
            return Grade(question_id=rubric.question_id, score=0.0, band="no answer", flags=[FLAG_EMPTY])
        covered = [k.text for k in rubric.key_points if k.text.split()[0] in text]
        missed = [k.text for k in rubric.key_points if k.text not in covered]
        if "strong" in text:
            score = 4.5
        elif "weak" in text:
            score = 1.0
        else:
            total = sum(k.weight for k in rubric.key_points) or 1.0
            score = round(5 * sum(k.weight for k in rubric.key_points if k.text in covered) / total, 1)
        claims = [m.claim for m in rubric.misconceptions if m.claim.lower() in text]
        return Grade(
            question_id=rubric.question_id,
            score=score,
            band=band_for(score),
            covered=covered,
            missed=missed,
            misconceptions=claims,
        )


def no_grader(rubric: Rubric, answer: str) -> Grade:
    raise AssertionError("the grader must not be needed")


def levels_pool() -> list[Card]:
    rubrics = [make_rubric(f"b{i}", level="beginner") for i in range(3)]
    rubrics += [make_rubric(f"i{i}", level="intermediate") for i in range(3)]
    rubrics += [make_rubric(f"a{i}", level="advanced") for i in range(3)]
    return cards_of(*rubrics)


# ---- choosing questions ----------------------------------------------------------------------------


def test_first_question_needs_no_grader() -> None:
    interview = Interview(levels_pool(), no_grader, count=3, seed=1)
    reply = interview.start()
    assert reply.ask is not None and reply.ask.number == 1 and reply.ask.total == 3
    assert reply.ask.card.level == "beginner"
    assert reply.lines and reply.ask.intro
    assert interview.phase == Phase.ASKING


def test_difficulty_starts_where_asked() -> None:
    reply = Interview(levels_pool(), no_grader, start_level="advanced", seed=1).start()
    assert reply.ask.card.level == "advanced"


def test_strong_answer_moves_up_a_level() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=3, seed=2)
    interview.start()
    reply = interview.answer("a strong answer")
    assert reply.feedback is not None and reply.feedback.new_level == "intermediate"
    assert reply.feedback.level_note
    assert interview.proceed().ask.card.level == "intermediate"


def test_weak_answer_moves_down_a_level() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=3, start_level="advanced", seed=2)
    interview.start()
    reply = interview.answer("a weak answer")
    assert reply.feedback.new_level == "intermediate"
    assert interview.proceed().ask.card.level == "intermediate"


def test_middling_answer_keeps_the_level() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=3, start_level="intermediate", seed=2)
    interview.start()
    reply = interview.answer("beta and gamma")  # 3 of 5 weight → 3.0, adequate
    assert reply.feedback.result.score == pytest.approx(3.0)
    assert reply.feedback.new_level is None and interview.level == "intermediate"


def test_level_is_capped_at_both_ends() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=3, start_level="beginner", seed=2)
    interview.start()
    interview.answer("weak")
    assert interview.level == "beginner"


def test_nearest_level_is_used_when_one_runs_out() -> None:
    pool = cards_of(make_rubric("b0"), make_rubric("a0", level="advanced"), make_rubric("u0", level=None))
    interview = Interview(pool, FakeGrader(), count=3, start_level="beginner", seed=0)
    asked = [interview.start().ask.card.id]
    interview.answer("beta and gamma")  # adequate: stays at beginner
    asked.append(interview.proceed().ask.card.id)
    assert asked[0] == "b0"
    assert asked[1] == "u0"  # unrated counts as intermediate: nearer than advanced


def test_never_two_questions_of_the_same_concept_group() -> None:
    pool = cards_of(
        make_rubric("d1", group="dropout"),
        make_rubric("d2", group="dropout"),
        make_rubric("d3", group="dropout"),
        make_rubric("x1"),
    )
    interview = Interview(pool, FakeGrader(), count=4, seed=5)
    asked = []
    reply = interview.start()
    while reply.ask is not None:
        asked.append(reply.ask.card.id)
        interview.answer("alpha beta")
        reply = interview.proceed()
    assert len(asked) == 2 and len({a for a in asked if a.startswith("d")}) == 1
    assert reply.summary is not None  # the pool ran out before the count: the session ends cleanly


def test_never_repeats_a_question_and_stops_at_count() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=6, seed=9)
    asked = []
    reply = interview.start()
    while reply.ask is not None:
        asked.append(reply.ask.card.id)
        reply = interview.answer("strong" if len(asked) % 2 else "weak")
        reply = interview.proceed()
    assert len(asked) == 6 == len(set(asked))
    assert reply.summary is not None and interview.phase == Phase.DONE


def test_same_seed_same_session_and_seeds_differ() -> None:
    def run(seed: int) -> list[str]:
        interview = Interview(levels_pool(), FakeGrader(), count=4, seed=seed)
        asked, reply = [], interview.start()
        while reply.ask is not None:
            asked.append((reply.ask.card.id, reply.ask.intro))
            interview.answer("alpha beta")
            reply = interview.proceed()
        return asked

    assert run(11) == run(11)
    assert len({tuple(run(s)) for s in range(6)}) > 1


def test_plan_order_is_seeded() -> None:
    pool = levels_pool()
    assert plan_order(pool, 3) == plan_order(list(reversed(pool)), 3)
    assert sorted(plan_order(pool, 3)) == sorted(c.id for c in pool)


# ---- pool selection -----------------------------------------------------------------------------------


def test_topic_matches_slug_or_bank_topic_text_case_insensitively() -> None:
    rubrics = [
        make_rubric("c1", topic="cnn"),
        make_rubric("g1", topic=None),
        make_rubric("o1", topic="optimization"),
    ]
    bank_topics = {"g1": "Multi-GPU Training"}
    assert [c.id for c in build_pool(rubrics, bank_topics, ["CNN"])] == ["c1"]
    assert [c.id for c in build_pool(rubrics, bank_topics, ["gpu"])] == ["g1"]
    assert [c.id for c in build_pool(rubrics, bank_topics, ["gpu", "optim"])] == ["g1", "o1"]
    assert build_pool(rubrics, bank_topics, ["gpu"])[0].topic == "Multi-GPU Training"


def test_unknown_topic_names_it() -> None:
    with pytest.raises(SelectionError, match="unknown topic 'quantum'"):
        build_pool([make_rubric("c1")], {}, ["quantum"])


def test_questions_without_a_reference_are_not_asked() -> None:
    rubrics = [make_rubric("n1", topic="rl", reference=None, points=()), make_rubric("c1")]
    assert [c.id for c in build_pool(rubrics, {})] == ["c1"]
    with pytest.raises(SelectionError, match="no questions match"):
        build_pool(rubrics, {}, ["rl"])


def test_unrated_and_aliased_levels() -> None:
    cards = cards_of(make_rubric("x", level=None), make_rubric("y", level="Hard"))
    assert {c.id: c.level for c in cards} == {"x": None, "y": "advanced"}


# ---- follow-ups ---------------------------------------------------------------------------------------


def follow_up_rubric(**kwargs) -> Rubric:
    return make_rubric(
        "f1",
        follow_ups=(("How are the weights learned?", 1), ("What does pooling do?", 2)),
        **kwargs,
    )


def test_missed_essential_point_triggers_its_follow_up() -> None:
    grader = FakeGrader()
    interview = Interview(cards_of(follow_up_rubric()), grader, count=1, seed=0)
    interview.start()
    reply = interview.answer("alpha only")
    assert reply.feedback is None
    assert reply.ask is not None and reply.ask.follow_up
    assert reply.ask.text == "How are the weights learned?"
    assert interview.phase == Phase.FOLLOW_UP
    assert [t.kind for t in reply.turns] == ["answer"] and not reply.turns[0].final


@pytest.mark.parametrize(
    "answer", ["I don't know.", "No idea, sorry", "not sure", "pass", "Honestly, I'll skip this one."]
)
def test_dont_know_gets_the_key_idea_in_two_lines_and_moves_on(answer: str) -> None:
    easy = make_rubric("e1", level="beginner")
    hard = follow_up_rubric().model_copy(update={"difficulty": "intermediate"})
    interview = Interview(cards_of(hard, easy), no_grader, count=2, start_level="intermediate", seed=0)
    assert interview.start().ask.card.id == hard.question_id
    reply = interview.answer(answer)  # no grader: nothing to wait for
    assert reply.ask is None and interview.phase == Phase.FEEDBACK  # no follow-up
    feedback = reply.feedback
    assert feedback.key_idea == ["alpha point about filters.", "beta point about weights."]
    assert feedback.result.grade.score == 0.0 and feedback.result.follow_up is None
    assert feedback.new_level == "beginner" and feedback.level_note  # an easier one next
    assert interview.proceed().ask.card.id == "e1"


@pytest.mark.parametrize(
    ("answer", "language"),
    [
        ("卷积层用共享权重的小滤波器扫描图像，提取局部特征。", "Chinese"),
        ("Свёрточный слой применяет небольшие фильтры к изображению.", "Russian"),
        ("La capa convolucional aplica filtros pequeños con pesos compartidos a la imagen.", "Spanish"),
    ],
)
def test_an_answer_in_another_language_is_not_graded_and_the_question_stays(
    answer: str, language: str
) -> None:
    interview = Interview(cards_of(follow_up_rubric()), no_grader, count=1, seed=0)
    first = interview.start().ask
    reply = interview.answer(answer)
    assert reply.feedback is None and reply.turns == [] and interview.phase == Phase.ASKING
    assert language in reply.ask.intro and "only grade answers in English" in reply.ask.intro
    assert reply.ask.text == first.text and reply.ask.number == first.number


def test_dont_know_to_a_follow_up_keeps_the_first_grade() -> None:
    grader = FakeGrader()
    interview = Interview(cards_of(follow_up_rubric()), grader, count=1, seed=0)
    interview.start()
    interview.answer("alpha only")
    reply = interview.answer("no idea")
    assert len(grader.calls) == 1
    assert reply.feedback.result.grade is reply.feedback.result.first_grade


def test_follow_up_answer_is_graded_together_with_the_first() -> None:
    grader = FakeGrader()
    interview = Interview(cards_of(follow_up_rubric()), grader, count=1, seed=0)
    interview.start()
    interview.answer("alpha only")
    reply = interview.answer("beta: by gradient descent")
    assert grader.calls[-1][1] == "alpha only\n\nbeta: by gradient descent"
    feedback = reply.feedback
    assert feedback.added == ["beta point about weights"]
    assert feedback.result.first_grade.score < feedback.result.grade.score
    assert feedback.result.follow_up_answer == "beta: by gradient descent"
    assert [t.kind for t in reply.turns] == ["follow-up"] and reply.turns[0].final
    assert reply.turns[0].graded_answer.startswith("alpha only")


def test_no_follow_up_for_a_missed_point_that_is_not_essential() -> None:
    interview = Interview(cards_of(follow_up_rubric()), FakeGrader(), count=1, seed=0)
    interview.start()
    reply = interview.answer("alpha and beta")  # only gamma (not essential) missed
    assert reply.feedback is not None and reply.ask is None


def test_rubric_without_follow_ups_or_misconceptions_just_gets_feedback() -> None:
    interview = Interview(cards_of(make_rubric("p")), FakeGrader(), count=1, seed=0)
    interview.start()
    reply = interview.answer("nothing relevant")
    assert reply.feedback is not None and reply.feedback.result.follow_up is None


def test_no_follow_up_after_an_empty_answer() -> None:
    rubric = follow_up_rubric()
    grade = Grade(
        question_id="f1", score=0.0, band="no answer", flags=[FLAG_EMPTY], missed=[rubric.key_points[1].text]
    )
    assert follow_up_for(rubric, grade) is None


def test_follow_up_pointing_past_the_key_points_is_ignored() -> None:
    rubric = make_rubric("t", follow_ups=(("Typo follow-up?", 9),))
    grade = Grade(question_id="t", score=1.0, band="weak", missed=[k.text for k in rubric.key_points])
    assert follow_up_for(rubric, grade) is None


def test_blank_follow_up_answer_keeps_the_first_grade() -> None:
    grader = FakeGrader()
    interview = Interview(cards_of(follow_up_rubric()), grader, count=1, seed=0)
    interview.start()
    interview.answer("alpha only")
    reply = interview.answer("", timed_out=True)
    assert len(grader.calls) == 1
    assert reply.feedback.result.grade.score == reply.feedback.result.first_grade.score
    assert reply.feedback.result.timed_out


# ---- commands -----------------------------------------------------------------------------------------


def test_parse_command() -> None:
    for word in COMMANDS:
        assert parse_command(word) == word
        assert parse_command(f"  /{word.upper()}. ") == word
    assert parse_command("skip connections help gradients") is None
    assert parse_command("") is None


def test_hint_gives_a_gist_not_the_answer() -> None:
    interview = Interview(cards_of(make_rubric("h")), no_grader, count=1, seed=0)
    interview.start()
    reply = interview.command("hint")
    assert reply.hint and "alpha point about filters" not in reply.hint
    assert "“" in reply.hint  # names a key term or two
    second = interview.command("hint").hint
    assert second != reply.hint
    assert interview.command("hint").hint  # the non-essential point
    assert "hint" in interview.command("hint").hint.lower()  # out of hints, said kindly
    assert interview.phase == Phase.ASKING  # hints never end the question


def test_hint_uses_the_follow_up_question_as_a_nudge() -> None:
    rubric = follow_up_rubric()
    assert hint_text(rubric, 1) == "How are the weights learned?"
    during_follow_up = hint_text(rubric, 1, probe=rubric.follow_ups[0])
    assert during_follow_up != rubric.follow_ups[0].question and "“" in during_follow_up
    assert "weights" not in during_follow_up  # words of the question being answered add nothing


def test_hints_are_counted_on_the_result() -> None:
    interview = Interview(cards_of(make_rubric("h")), FakeGrader(), count=1, seed=0)
    interview.start()
    interview.command("hint")
    reply = interview.answer("alpha beta gamma")
    assert reply.feedback.result.hints == 1 and reply.turns[0].hints == 1


def test_skip_records_a_turn_and_moves_on() -> None:
    interview = Interview(levels_pool(), no_grader, count=2, seed=0)
    first = interview.start().ask.card.id
    reply = interview.command("skip")
    assert [t.kind for t in reply.turns] == ["skip"] and reply.turns[0].grade is None
    assert reply.ask is not None and reply.ask.card.id != first and reply.ask.number == 2
    assert interview.results[0].status == "skipped"


def test_repeat_reasks_the_same_question() -> None:
    interview = Interview(levels_pool(), no_grader, count=2, seed=0)
    ask = interview.start().ask
    again = interview.command("repeat").ask
    assert again.card.id == ask.card.id and again.text == ask.text and again.repeated
    assert interview.phase == Phase.ASKING


def test_reference_before_answering_reveals_it_and_does_not_score() -> None:
    interview = Interview(levels_pool(), no_grader, count=2, seed=0)
    interview.start()
    reply = interview.command("reference")
    assert reply.reference == "A reference answer."
    assert [t.kind for t in reply.turns] == ["reveal"]
    assert interview.phase == Phase.FEEDBACK and interview.results[0].status == "revealed"
    assert interview.command("reference").reference == "A reference answer."  # again, after the fact
    assert interview.proceed().ask.number == 2


def test_reference_mid_follow_up_keeps_the_first_grade_and_says_so() -> None:
    """The first answer was graded before the reveal, and its grade stands: the reveal must not say
    the question won't be scored (it said so, then showed the score)."""
    interview = Interview(cards_of(follow_up_rubric()), FakeGrader(), count=1, seed=0)
    interview.start()
    interview.answer("alpha only")
    assert interview.phase == Phase.FOLLOW_UP
    reply = interview.command("reference")
    assert reply.reference and reply.feedback is not None and reply.feedback.result.grade is not None
    said = " ".join(reply.lines)
    assert "stands" in said and "won't score this one" not in said and "this one won't be scored" not in said


def test_quit_mid_follow_up_keeps_the_first_grade() -> None:
    interview = Interview(cards_of(follow_up_rubric()), FakeGrader(), count=1, seed=0)
    interview.start()
    interview.answer("alpha only")
    reply = interview.command("quit")
    assert reply.summary is not None and interview.phase == Phase.DONE
    assert [t.kind for t in reply.turns] == ["skip"] and reply.turns[0].grade is not None
    assert reply.summary.graded[0].card.id == "f1"


def test_quit_before_answering_gives_an_empty_summary() -> None:
    interview = Interview(levels_pool(), no_grader, count=3, seed=0)
    interview.start()
    reply = interview.command("quit")
    assert reply.summary is not None and reply.summary.mean is None and reply.summary.results == []


def test_timeout_answer_is_graded_with_a_note() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=2, seed=0)
    interview.start()
    reply = interview.answer("alpha partial", timed_out=True)
    assert reply.lines and reply.feedback.result.timed_out and reply.turns[0].timed_out


# ---- summary, review, resume ------------------------------------------------------------------------


def test_summary_has_mean_topics_strongest_weakest_and_points_to_review() -> None:
    pool = cards_of(
        make_rubric("c1", topic="cnn"),
        make_rubric("o1", topic="optimization", misconceptions=(("adam never overfits", "It can."),)),
        make_rubric("o2", topic="optimization"),
    )
    interview = Interview(pool, FakeGrader(), count=3, seed=0)
    reply = interview.start()
    answers = {"c1": "strong", "o1": "alpha, and adam never overfits", "o2": "weak"}
    while reply.ask is not None:
        interview.answer(answers[reply.ask.card.id])
        reply = interview.proceed()
    summary = reply.summary
    assert summary.mean == pytest.approx((4.5 + 2.0 + 1.0) / 3, abs=0.01)
    assert {t.topic: t.answered for t in summary.by_topic} == {"cnn": 1, "optimization": 2}
    assert summary.strongest.card.id == "c1" and summary.weakest.card.id == "o2"
    assert "beta point about weights" in summary.review_points
    assert "gamma point about pooling" not in summary.review_points  # not essential
    assert summary.corrections == [("adam never overfits", "It can.")]
    assert {r.card.id for r in summary.come_back} == {"o1", "o2"}  # below 2.5


def test_due_reviews_come_first_but_fill_at_most_half() -> None:
    pool = levels_pool()
    interview = Interview(pool, FakeGrader(), count=4, seed=3, reviews=["a2", "a1", "a0"])
    reply = interview.start()
    asked = []
    while reply.ask is not None:
        asked.append((reply.ask.card.id, reply.ask.review))
        interview.answer("alpha beta")
        reply = interview.proceed()
    assert asked[:2] == [("a2", True), ("a1", True)]
    assert all(not review for _, review in asked[2:])


def test_restore_replays_to_the_same_remaining_plan() -> None:
    pool = levels_pool()
    live = Interview(pool, FakeGrader(), count=5, seed=4)
    reply = live.start()
    outcomes = []
    for answer in ("strong", "weak", "strong"):
        qid = reply.ask.card.id
        reply = live.answer(answer)
        outcomes.append((qid, reply.feedback.result.grade))
        reply = live.proceed()
    expected_next = reply.ask.card.id

    resumed = Interview(pool, FakeGrader(), count=5, seed=4, order=live.order)
    for qid, grade in outcomes:
        resumed.restore(qid, "graded", grade)
    ask = resumed.start().ask
    assert ask.card.id == expected_next and ask.number == 4
    assert resumed.level == live.level


def test_restore_of_a_complete_session_goes_straight_to_the_summary() -> None:
    interview = Interview(levels_pool(), no_grader, count=1, seed=0)
    interview.restore("b0", "skipped")
    reply = interview.start()
    assert reply.summary is not None and reply.ask is None


def test_summarize_handles_no_results() -> None:
    summary = summarize([])
    assert summary.mean is None and summary.by_topic == [] and summary.strongest is None


# ---- phrasing -------------------------------------------------------------------------------------------


def test_phrasing_does_not_repeat_within_a_session() -> None:
    say = Phrasing(seed=1)
    for kind, options in TEMPLATES.items():
        lines = [say.say(kind, topic="cnn", count=3, number=2, total=5) for _ in options]
        assert len(set(lines)) == len(options), kind
    again = [say.say("next", topic="x") for _ in range(3 * len(TEMPLATES["next"]))]
    assert all(a != b for a, b in zip(again, again[1:], strict=False))  # never twice in a row


def test_phrasing_is_deterministic_and_tolerates_missing_fields() -> None:
    assert [Phrasing(5).say("strong") for _ in range(3)] == [Phrasing(5).say("strong") for _ in range(3)]
    assert "{" not in Phrasing(0).say("next")
    assert Phrasing(0).say("no such kind") == ""


def test_intros_vary_across_a_session() -> None:
    interview = Interview(levels_pool(), FakeGrader(), count=6, seed=8)
    reply, intros = interview.start(), []
    while reply.ask is not None:
        intros.append(reply.ask.intro)
        interview.answer("alpha beta")
        reply = interview.proceed()
    assert len(set(intros)) == len(intros)


def test_a_bare_title_is_asked_as_a_question_and_graded_as_written() -> None:
    titled = make_rubric("t1").model_copy(
        update={"question": "Interpretability vs performance trade-off", "asked": "How do you weigh them?"}
    )
    grader = FakeGrader()
    interview = Interview(cards_of(titled), grader, count=1, seed=0)
    assert interview.start().ask.text == "How do you weigh them?"
    reply = interview.answer("alpha beta gamma")
    assert grader.calls == [("t1", "alpha beta gamma")]
    assert reply.turns[0].question == "Interpretability vs performance trade-off"


def test_the_rubric_topic_is_the_one_topic_shown_and_matched() -> None:
    rubrics = [make_rubric("e1", topic="evaluation"), make_rubric("c1", topic="cnn")]
    bank_topics = {"e1": "Multi-GPU Training", "c1": "Convolutional Neural Networks (CNNs)"}
    assert [c.topic for c in build_pool(rubrics, bank_topics)] == ["evaluation", "cnn"]
    with pytest.raises(SelectionError, match="known topics are cnn, evaluation$"):
        build_pool(rubrics, bank_topics, ["gpu"])


def test_running_out_of_questions_is_not_quitting() -> None:
    # The terminal says "a session you quit is closed" only after `quit`: a pool smaller than the
    # count asked for ends the session too, with fewer questions asked than the count.
    interview = Interview(cards_of(follow_up_rubric()), no_grader, count=3, seed=0)
    interview.start()
    reply = interview.command("skip")
    while reply.summary is None:
        reply = interview.proceed()
    assert interview.asked < interview.count and not interview.quit
    quitter = Interview(levels_pool(), no_grader, count=3, seed=0)
    quitter.start()
    quitter.command("quit")
    assert quitter.quit
