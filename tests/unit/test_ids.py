from atelier.ids import IdPrefix, has_prefix, new_id


def test_ids_carry_their_prefix_and_a_fixed_length_body():
    # Given / When
    job_id = new_id(IdPrefix.JOB)
    # Then
    assert job_id.startswith("job_")
    assert has_prefix(job_id, IdPrefix.JOB)
    assert not has_prefix(job_id, IdPrefix.ASSET)


def test_ids_sort_by_creation_time():
    # Given ids minted a millisecond apart
    earlier = new_id(IdPrefix.JOB, now_ms=1_700_000_000_000)
    later = new_id(IdPrefix.JOB, now_ms=1_700_000_000_001)
    # Then string order is time order, so newest-first listings are a plain descending Query
    assert earlier < later


def test_ids_are_unguessable():
    # Given many ids minted in the same millisecond
    ids = {new_id(IdPrefix.ASSET, now_ms=1_700_000_000_000) for _ in range(10_000)}
    # Then none repeats: 80 random bits each
    assert len(ids) == 10_000


def test_malformed_ids_are_rejected():
    assert not has_prefix("job_", IdPrefix.JOB)
    assert not has_prefix("job_../../etc/passwd", IdPrefix.JOB)
    assert not has_prefix("job_" + "U" * 26, IdPrefix.JOB)
