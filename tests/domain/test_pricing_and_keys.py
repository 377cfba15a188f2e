"""What a job costs (PriceRule), and the key strings every item is stored under (atelier.data.keys),
with no table."""

from __future__ import annotations

import pytest

from atelier.data import keys
from atelier.models.generation import PriceRule


@pytest.mark.parametrize(
    ("rule", "params", "credits"),
    [
        (PriceRule(base=4), {}, 4),
        # Megapixels are counted whole, rounded up: 1024x1024 is 1.05 MP, two of them.
        (PriceRule(base=2, per_megapixel=3), {"width": 1024, "height": 1024}, 2 + 3 * 2),
        (PriceRule(base=2, per_megapixel=3), {"width": 1000, "height": 1000}, 2 + 3 * 1),
        # Seconds too: 4.2 s of video is 5.
        (PriceRule(base=10, per_second=6), {"duration_s": 4.2}, 10 + 6 * 5),
        # A rule says nothing of what its parameters lack.
        (PriceRule(base=2, per_megapixel=3), {"width": 512}, 2),
        # Never free.
        (PriceRule(base=0), {}, 1),
    ],
)
def test_what_a_job_costs(rule, params, credits):
    assert rule.credits(params) == credits


def test_the_account_partition_holds_its_rows_under_one_key():
    assert keys.account_pk("acct_1") == "ACCOUNT#acct_1"
    assert keys.session_sk("s1") == "SESSION#s1"
    assert keys.api_key_sk("k1") == "APIKEY#k1"
    assert keys.workspace_sk("w1") == "WORKSPACE#w1"
    assert keys.hold_sk("job_1") == "HOLD#job_1"
    assert keys.checkout_sk("chk_1") == "CHECKOUT#chk_1"
    assert keys.subscription_sk("stripe", "sub_1") == "SUBSCRIPTION#stripe#sub_1"


def test_pointers_are_keyed_on_hashes_and_provider_ids():
    assert keys.session_pointer_pk("h") == "SESSIONTOKEN#h"
    assert keys.api_key_pointer_pk("h") == "APIKEYTOKEN#h"
    assert keys.provider_job_pk("runpod", "j1") == "PROVIDERJOB#runpod#j1"
    assert keys.inbox_pk("stripe", "evt_1") == "INBOX#stripe#evt_1"
    assert keys.unmatched_payment_pk("paypal", "CAP1") == "UNMATCHED#paypal#CAP1"


def test_time_ordered_sort_keys_sort_as_their_times():
    windows = [keys.rate_window_sk(start) for start in (9, 10, 100, 1_700_000_000)]
    assert windows == sorted(windows)
    assert keys.rate_window_sk(60) == "WINDOW#000000000060"
    unmatched = [keys.unmatched_payments_sk(ms, "stripe", "x") for ms in (5, 50, 1_700_000_000_000)]
    assert unmatched == sorted(unmatched)


def test_accounts_spread_over_their_shards_the_same_way_every_time():
    shards = {keys.account_shard_pk(f"acct_{n}") for n in range(200)}
    assert shards == {f"ACCOUNTS#{shard:02d}" for shard in range(keys.ACCOUNT_SHARDS)}
    assert keys.account_shard_pk("acct_7") == keys.account_shard_pk("acct_7")
