"""A deterministic, realistic demo directory (``manage.py seed_directory``).

Same sizes and seed give the same organisations and accounts: names, codes, usernames,
mobiles, emails and memberships come from one ``random.Random(seed)`` drawn in a fixed order.

At demo sizes (100,000 accounts, 5,000 organisations) one service call per row would take
minutes, so this module writes in bulk and computes by itself what the services maintain: the
ids, the materialised path (``parent.path + "<id>/"``, a root's is ``"/<id>/"``), the depth
(number of ancestors) and exactly one primary membership per account. Every value is built to
pass the model validators; tests check both against the services' rules.
"""

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Account, Membership, Organization
from .services import ACCOUNT_FIELDS, DirectoryError
from .validators import normalize_mobile

BATCH_SIZE = 2000

COMPANIES = ("星海科技", "Northwind Holdings", "云杉集团", "Blue Harbor Group")
# Names per level below the company; a level deeper than the last reuses the last pool.
LEVEL_NAMES: tuple[tuple[str, ...], ...] = (
    (
        "研发中心", "Platform Engineering", "市场中心", "Global Sales", "财务中心",
        "人力资源中心", "Operations", "客户成功中心", "Product Management", "供应链中心",
        "Legal and Compliance", "数据智能中心", "品牌公关部", "Corporate IT", "战略发展部",
        "Research Lab",
    ),
    (
        "前端开发部", "Backend Services", "测试部", "Infrastructure", "基础架构部",
        "Information Security", "数据平台部", "Mobile Apps", "用户体验设计部",
        "Quality Assurance", "华东区", "华北区", "华南区", "Key Accounts", "招聘部",
        "Payroll and Benefits", "采购部", "Logistics", "渠道合作部", "Developer Relations",
        "运维部", "Customer Support",
    ),
    (
        "支付团队", "Search Team", "增长团队", "Team Atlas", "风控团队", "Team Orion",
        "推荐算法组", "Team Phoenix", "直播团队", "Cloud Native Team", "消息中台组",
        "Team Nova", "交易组", "Identity Team", "存储组", "Team Aurora",
    ),
    (
        "一组", "二组", "三组", "四组", "五组", "Squad Alpha", "Squad Bravo",
        "Squad Charlie", "Squad Delta", "Squad Echo", "攻坚小组", "值班小组",
    ),
)  # fmt: skip
# Children per organisation at each level below the company (the last pair repeats).
FANOUT = ((8, 12), (4, 8), (3, 6), (3, 6))
MIN_LEVELS = 4  # company → division → department → team

SURNAMES = (
    ("张", "zhang"), ("王", "wang"), ("李", "li"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
    ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"), ("郑", "zheng"),
    ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"), ("韩", "han"),
    ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"), ("曾", "zeng"),
    ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"), ("袁", "yuan"),
    ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
    ("程", "cheng"), ("魏", "wei"), ("苏", "su"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("钟", "zhong"), ("崔", "cui"),
    ("谭", "tan"), ("陆", "lu"), ("范", "fan"), ("金", "jin"), ("夏", "xia"),
    ("方", "fang"), ("白", "bai"), ("秦", "qin"), ("欧阳", "ouyang"), ("司马", "sima"),
)  # fmt: skip
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("桂英", "guiying"), ("华", "hua"), ("玉兰", "yulan"), ("鑫", "xin"),
    ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("婷", "ting"),
    ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("博", "bo"), ("文", "wen"),
    ("佳", "jia"), ("颖", "ying"), ("子涵", "zihan"), ("梓萱", "zixuan"),
    ("浩然", "haoran"), ("一诺", "yinuo"), ("雨桐", "yutong"), ("思远", "siyuan"),
    ("嘉怡", "jiayi"), ("俊杰", "junjie"), ("志强", "zhiqiang"), ("海燕", "haiyan"),
    ("晓东", "xiaodong"), ("晓红", "xiaohong"), ("慧", "hui"), ("亮", "liang"),
    ("飞", "fei"), ("瑶", "yao"), ("倩", "qian"), ("峰", "feng"),
)  # fmt: skip
SINGLE_GIVEN_NAMES = tuple(given for given in GIVEN_NAMES if len(given[0]) == 1)
FIRST_NAMES = (
    "James", "Mary", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Sophia",
    "Kevin", "Grace", "Jason", "Linda", "Eric", "Anna", "Ryan", "Chloe", "Brian", "Lucy",
    "Alex", "Jessica", "Tony", "Vivian", "Peter", "Cindy", "Leo", "Iris", "Henry",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Chen", "Wong", "Lee", "Brown", "Johnson", "Tan", "Lim", "Garcia", "Miller",
    "Davis", "Wilson", "Taylor", "Ng", "Liu", "Anderson", "Thomas", "Martin", "Kumar",
    "Nguyen", "Ho", "Cheung",
)  # fmt: skip
TITLES = (
    "软件工程师", "高级软件工程师", "技术专家", "测试工程师", "产品经理", "Product Designer",
    "Data Analyst", "Sales Manager", "客户经理", "HR Business Partner", "财务分析师",
    "运维工程师", "Engineering Manager", "Marketing Specialist", "行政专员",
    "Solutions Architect",
)  # fmt: skip
WORK_PLACES = ("杭州", "北京", "上海", "深圳", "广州", "成都", "南京", "Hong Kong", "Singapore")
MAINLAND_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "158", "176", "186", "199")
# (country code, leading digits, number length) of the international numbers: leading digits
# of mobile ranges in use (checked against phonenumbers in the tests), so almost every draw is
# a valid number; ``_PersonMaker.mobile`` draws again in the rare case one is not.
INTERNATIONAL = (
    ("852", ("61", "63", "64", "65", "69", "94", "96", "97"), 8),  # Hong Kong
    ("853", ("62", "63", "65"), 8),  # Macao
    ("886", ("90", "91", "92", "93", "95", "97", "98"), 9),  # Taiwan
    ("65", ("81", "82", "83", "84", "85", "87", "88", "90", "91", "92", "93", "94"), 8),
)
EMPLOYEE_TYPES = ("full_time", "full_time", "full_time", "contractor", "intern")
FIRST_HIRED = date(2008, 1, 1)
HIRED_SPAN_DAYS = 6200  # up to mid-2024: fixed, so the data does not depend on today


@dataclass
class SeedResult:
    """What one seeding run wrote."""

    organizations: int
    accounts: int
    memberships: int
    depth: int
    seconds: float


def directory_is_empty() -> bool:
    return not Account.objects.exists() and not Organization.objects.exists()


@transaction.atomic
def seed_directory(*, orgs: int, accounts: int, seed: int) -> SeedResult:
    """Write ``orgs`` organisations and ``accounts`` accounts into an empty directory."""
    if not directory_is_empty():
        raise DirectoryError(
            _("The directory is not empty: demo data goes into an empty directory only.")
        )
    if orgs < 1 or accounts < 0:
        raise DirectoryError(_("Seed at least one organisation and zero or more accounts."))
    started = time.monotonic()
    rng = random.Random(seed)
    levels = _create_organizations(rng, orgs)
    people = _create_accounts(rng, accounts)
    # People belong below the company; a one-organisation directory has only the company.
    homes = [org for level in levels[1:] for org in level] or levels[0]
    members = _create_memberships(rng, people, homes)
    _reset_sequences()
    return SeedResult(
        organizations=orgs,
        accounts=len(people),
        memberships=members,
        depth=len(levels) - 1,
        seconds=time.monotonic() - started,
    )


# --- organisations ---------------------------------------------------------------------------


def level_sizes(total: int, rng: random.Random) -> list[int]:
    """How many organisations each level gets: one company, then growing levels.

    Enough is held back at every level above the teams to reach ``MIN_LEVELS`` levels.
    """
    sizes, remaining = [1], total - 1
    while remaining > 0:
        level = len(sizes)
        low, high = FANOUT[min(level, len(FANOUT)) - 1]
        wanted = sizes[-1] * rng.randint(low, high)
        reserve = max(0, MIN_LEVELS - 1 - level)
        size = max(1, min(wanted, remaining - reserve))
        sizes.append(size)
        remaining -= size
    return sizes


def _create_organizations(rng: random.Random, total: int) -> list[list[Organization]]:
    """Build the tree level by level, ids chosen here so paths are known before the insert."""
    ids = iter(range(_next_id(Organization), 1 << 62))
    root = Organization(name=rng.choice(COMPANIES), code="HQ", order=0)
    levels = [_place([root], [None], ids)]
    codes = iter(range(1, total))
    for size in level_sizes(total, rng)[1:]:
        parents = _pick_parents(rng, levels[-1], size)
        levels.append(_place(_name_children(rng, parents, len(levels), codes), parents, ids))
    Organization.objects.bulk_create([org for level in levels for org in level], BATCH_SIZE)
    return levels


def _pick_parents(
    rng: random.Random, candidates: list[Organization], count: int
) -> list[Organization]:
    """Parents for ``count`` new organisations, uneven like real departments, grouped."""
    weights = [rng.uniform(0.3, 1.7) for _ in candidates]
    picked = rng.choices(range(len(candidates)), weights=weights, k=count)
    return [candidates[i] for i in sorted(picked)]


def _name_children(
    rng: random.Random, parents: list[Organization], level: int, codes
) -> list[Organization]:
    """One unsaved organisation per parent slot, names unique among siblings."""
    pool = LEVEL_NAMES[min(level, len(LEVEL_NAMES)) - 1]
    offsets: dict[int, int] = {}
    seen: dict[int, int] = {}
    children = []
    for parent in parents:
        offset = offsets.setdefault(parent.pk, rng.randrange(len(pool)))
        index = seen[parent.pk] = seen.get(parent.pk, -1) + 1
        name = pool[(offset + index) % len(pool)]
        if index >= len(pool):
            name = f"{name} {index // len(pool) + 1}"
        children.append(
            Organization(name=name, code=f"D{next(codes):05d}", order=index * 10, depth=level)
        )
    return children


def _place(
    orgs: list[Organization], parents: Sequence[Organization | None], ids: Iterator[int]
) -> list[Organization]:
    """Give each organisation its id, parent, path and depth as the services would."""
    for org, parent in zip(orgs, parents, strict=True):
        org.pk, org.parent = next(ids), parent
        org.path = f"{parent.path if parent else '/'}{org.pk}/"
        org.depth = parent.depth + 1 if parent else 0
    return orgs


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _insert(model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs: at 100,000 rows the ORM's per-value work dominates."""
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model)
        quote(model._meta.db_table),
        ", ".join(quote(model._meta.get_field(name).column) for name in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            cursor.executemany(sql, rows[start : start + BATCH_SIZE])


def _reset_sequences() -> None:
    """Ids were chosen here, so PostgreSQL's sequences must catch up (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), [Organization, Account, Membership])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# --- accounts --------------------------------------------------------------------------------


class _PersonMaker:
    """Draws people from the name lists, keeping usernames, mobiles and emails unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.usernames: dict[str, int] = {}
        self.mobiles: set[str] = set()
        self.domain = "example.com"

    def name(self) -> tuple[str, str]:
        """(display name, username base): 3 in 4 are Chinese names, romanised for the id."""
        rng = self.rng
        if rng.random() < 0.75:
            surname, surname_pinyin = rng.choice(SURNAMES)
            given = rng.choice(GIVEN_NAMES)
            if len(given[0]) == 1 and rng.random() < 0.35:
                second = rng.choice(SINGLE_GIVEN_NAMES)
                given = (given[0] + second[0], given[1] + second[1])
            return surname + given[0], surname_pinyin + given[1]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return f"{first} {last}", f"{first}.{last}".lower()

    def username(self, base: str) -> str:
        # Bases end in a letter, so "zhangwei2" can never be somebody else's base.
        count = self.usernames[base] = self.usernames.get(base, 0) + 1
        return base if count == 1 else f"{base}{count}"

    def mobile(self) -> str:
        """A unique mobile in the stored normal form (11 digits, or +code-number)."""
        rng = self.rng
        while True:
            if rng.random() < 0.03:
                code, starts, length = rng.choice(INTERNATIONAL)
                start = rng.choice(starts)
                number = f"+{code}-{start}{_digits(rng, length - len(start))}"
                if not _is_valid_mobile(number):
                    continue
            else:
                # Every number of these mainland prefixes is valid (checked in the tests); they
                # are not checked here, where 100,000 people cost 4 s more.
                number = rng.choice(MAINLAND_PREFIXES) + _digits(rng, 8)
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number


def _is_valid_mobile(number: str) -> bool:
    try:
        return normalize_mobile(number) == number
    except ValidationError:
        return False


def _digits(rng: random.Random, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"


ACCOUNT_COLUMNS = ACCOUNT_FIELDS
MEMBERSHIP_COLUMNS = ("id", "account", "organization", "is_primary", "order")


def _make_account(maker: _PersonMaker, number: int) -> tuple:
    """One person's values, in the order of ``ACCOUNT_COLUMNS``."""
    rng = maker.rng
    display_name, base = maker.name()
    username = maker.username(base)
    extra = {}
    if rng.random() < 0.3:
        extra = {
            "cost_center": f"CC{rng.randint(100, 999)}",
            "employee_type": rng.choice(EMPLOYEE_TYPES),
        }
    return (
        username,
        display_name,
        maker.mobile(),
        f"{username}@{maker.domain}" if rng.random() < 0.97 else "",
        f"E{number:06d}",
        rng.choice(TITLES),
        rng.choice(WORK_PLACES),
        FIRST_HIRED + timedelta(days=rng.randrange(HIRED_SPAN_DAYS)),
        Account.Status.DISABLED.value if rng.random() < 0.03 else Account.Status.ACTIVE.value,
        extra,
    )


def _create_accounts(rng: random.Random, count: int) -> list[int]:
    """Insert ``count`` people; returns their ids."""
    maker = _PersonMaker(rng)
    people = [_make_account(maker, number) for number in range(1, count + 1)]
    first = _next_id(Account)
    ops, extra_field = connection.ops, Account._meta.get_field("extra")
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (first + i, *values[:7], ops.adapt_datefield_value(values[7]), values[8])
        + (extra_field.get_db_prep_save(values[9], connection), now, now)
        for i, values in enumerate(people)
    ]
    _insert(Account, ("id", *ACCOUNT_COLUMNS, "created_at", "updated_at"), rows)
    return [row[0] for row in rows]


def _create_memberships(rng: random.Random, people: list[int], orgs: list[Organization]) -> int:
    """One primary membership each; about 7% also belong to one or two more organisations."""
    if not orgs:
        return 0
    rows: list[tuple] = []
    next_id = _next_id(Membership)
    for account_id in people:
        extra = rng.choice((1, 2)) if rng.random() < 0.07 and len(orgs) > 2 else 0
        for order, org in enumerate(rng.sample(orgs, extra + 1)):
            rows.append((next_id + len(rows), account_id, org.pk, order == 0, order))
    _insert(Membership, MEMBERSHIP_COLUMNS, rows)
    return len(rows)
