"""The demo directory generator and its ``seed_directory`` command."""

import random
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dtconsole.access.services import SYSTEM
from dtconsole.directory import services
from dtconsole.directory.models import Account, Membership, Organization
from dtconsole.directory.seeding import (
    INTERNATIONAL,
    MAINLAND_PREFIXES,
    directory_is_empty,
    level_sizes,
    seed_directory,
)
from dtconsole.directory.validators import FORBIDDEN_ORG_NAME_CHARS, normalize_mobile

pytestmark = pytest.mark.django_db


def seed(orgs: int = 80, accounts: int = 600, seed_value: int = 3) -> str:
    out = StringIO()
    call_command("seed_directory", orgs=orgs, accounts=accounts, seed=seed_value, stdout=out)
    return out.getvalue()


def snapshot() -> tuple[list, list, list]:
    """What must be identical between two runs with the same arguments."""
    return (
        list(Account.objects.order_by("id").values_list("username", "mobile", "email")),
        list(Organization.objects.order_by("id").values_list("name", "code", "depth")),
        list(
            Membership.objects.order_by("id").values_list(
                "account__username", "organization__code", "is_primary"
            )
        ),
    )


def wipe() -> None:
    Membership.objects.all().delete()
    Account.objects.all().delete()
    for depth in sorted(set(Organization.objects.values_list("depth", flat=True)), reverse=True):
        Organization.objects.filter(depth=depth).delete()


def test_the_same_seed_gives_the_same_directory_and_another_seed_a_different_one():
    seed(seed_value=3)
    first = snapshot()
    wipe()
    seed(seed_value=3)
    assert snapshot() == first
    wipe()
    seed(seed_value=4)
    other = snapshot()
    assert other[0] != first[0]
    assert other[1] != first[1]


def test_the_command_prints_a_one_line_summary_with_counts_and_time():
    out = seed(orgs=30, accounts=100)
    assert len(out.strip().splitlines()) == 1
    assert "30 organisations" in out and "100 accounts" in out and " s " in out


def test_the_tree_is_at_least_four_levels_deep_even_when_small():
    seed(orgs=4, accounts=10)
    assert Organization.objects.filter(depth=3).count() == 1
    assert level_sizes(4, random.Random(1)) == [1, 1, 1, 1]


def test_every_path_and_depth_is_what_the_services_would_have_written():
    seed(orgs=300, accounts=50)
    orgs = {org.pk: org for org in Organization.objects.all()}
    assert max(org.depth for org in orgs.values()) >= 3
    for org in orgs.values():
        parent = orgs.get(org.parent_id)
        assert org.path == f"{parent.path if parent else '/'}{org.pk}/"
        assert org.depth == (parent.depth + 1 if parent else 0)
        assert org.depth == len(org.ancestor_ids())


def test_a_seeded_tree_behaves_like_a_service_built_one_when_moved_and_extended():
    seed(orgs=60, accounts=20)
    leaf = Organization.objects.order_by("-depth", "id").first()
    division = Organization.objects.filter(depth=1).exclude(pk__in=leaf.ancestor_ids()).first()
    moved = services.organization_move(SYSTEM, leaf, division)
    assert moved.path == f"{division.path}{leaf.pk}/" and moved.depth == 2
    child = services.organization_create(SYSTEM, name="新团队", parent=moved)
    assert child.path == f"{moved.path}{child.pk}/" and child.depth == 3


def test_organisation_names_are_unique_among_siblings_and_free_of_forbidden_characters():
    seed(orgs=400, accounts=10)
    pairs = list(Organization.objects.values_list("parent_id", "name"))
    assert len(pairs) == len(set(pairs))
    names = [name for _parent, name in pairs]
    assert not [n for n in names if any(c in n for c in FORBIDDEN_ORG_NAME_CHARS)]
    assert any(any("\u4e00" <= c <= "\u9fff" for c in n) for n in names)
    assert any(n.isascii() for n in names)


def test_mobiles_emails_and_usernames_are_unique_and_some_mobiles_are_international():
    seed(orgs=20, accounts=3000)
    mobiles = list(Account.objects.values_list("mobile", flat=True))
    emails = [e for e in Account.objects.values_list("email", flat=True) if e]
    assert len(mobiles) == len(set(mobiles)) == 3000
    assert len(emails) == len(set(emails))
    assert any(m.startswith("+852-") or m.startswith("+") for m in mobiles)
    assert Account.objects.filter(display_name__regex=r"^[\u4e00-\u9fff]{2,4}$").exists()
    assert Account.objects.filter(display_name__regex=r"^[A-Z][a-z]+ [A-Z][a-z]+$").exists()


def test_every_seeded_mobile_is_a_valid_number_in_the_normal_form():
    seed(orgs=20, accounts=3000)
    mobiles = list(Account.objects.values_list("mobile", flat=True))
    assert [m for m in mobiles if normalize_mobile(m) != m] == []
    assert len({m.split("-")[0] for m in mobiles if m.startswith("+")}) > 1


@pytest.mark.parametrize(
    ("code", "start", "length"),
    [(code, start, length) for code, starts, length in INTERNATIONAL for start in starts],
)
def test_every_international_range_the_seeder_draws_from_is_a_mobile_range_in_use(
    code, start, length
):
    rng = random.Random(start)
    for _ in range(200):
        rest = f"{rng.randrange(10 ** (length - len(start))):0{length - len(start)}d}"
        number = f"+{code}-{start}{rest}"
        assert normalize_mobile(number) == number


@pytest.mark.parametrize("prefix", MAINLAND_PREFIXES)
def test_every_mainland_prefix_the_seeder_draws_from_is_a_mobile_range_in_use(prefix):
    rng = random.Random(prefix)
    for _ in range(200):
        number = f"{prefix}{rng.randrange(10**8):08d}"
        assert normalize_mobile(number) == number


def test_every_account_has_exactly_one_primary_and_some_belong_to_several_organisations():
    seed(orgs=50, accounts=2000)
    per_account = Counter(Membership.objects.values_list("account_id", flat=True))
    primaries = Counter(
        Membership.objects.filter(is_primary=True).values_list("account_id", flat=True)
    )
    assert set(per_account) == set(Account.objects.values_list("id", flat=True))
    assert all(primaries[account_id] == 1 for account_id in per_account)
    several = sum(1 for n in per_account.values() if n > 1)
    assert 0.04 * 2000 <= several <= 0.12 * 2000
    assert max(per_account.values()) <= 3


def test_a_sample_of_seeded_rows_passes_the_model_validators():
    seed(orgs=100, accounts=500)
    for account in Account.objects.order_by("id")[::25]:
        account.full_clean()
    for org in Organization.objects.order_by("id")[::5]:
        org.full_clean()
    for membership in Membership.objects.order_by("id")[::25]:
        membership.full_clean()


def test_if_empty_does_nothing_when_the_directory_already_has_accounts():
    seed(orgs=10, accounts=20)
    out = StringIO()
    call_command("seed_directory", orgs=10, accounts=50, seed=9, if_empty=True, stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert Account.objects.count() == 20


def test_if_empty_seeds_an_empty_directory():
    assert directory_is_empty()
    out = StringIO()
    call_command("seed_directory", orgs=10, accounts=20, seed=1, if_empty=True, stdout=out)
    assert Account.objects.count() == 20 and Organization.objects.count() == 10


def test_seeding_a_directory_that_is_not_empty_is_refused_without_if_empty():
    seed(orgs=10, accounts=5)
    with pytest.raises(CommandError, match="not empty"):
        seed(orgs=10, accounts=5)


def test_new_rows_after_seeding_get_fresh_ids():
    seed_directory(orgs=10, accounts=5, seed=1)
    org = services.organization_create(SYSTEM, name="After the seed")
    account = services.account_create(SYSTEM, username="after.seed", display_name="After Seed")
    assert org.pk > max(Organization.objects.exclude(pk=org.pk).values_list("pk", flat=True))
    assert account.pk > max(Account.objects.exclude(pk=account.pk).values_list("pk", flat=True))
