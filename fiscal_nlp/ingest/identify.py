"""Identify a disclosure: department, year, budget vs final, scope, where it sits, and stable ids.

Everything is read from the document itself, in this order of trust:
- the cover (the lines before the table of contents): "武汉市汉阳区大数据中心 2021 年度部门决算",
  "2024 年度原青山区大数据中心部门决算公开", "江苏省政协办公厅 2018年度 / 部门预算公开", a year printed
  as its own text run ("上海市普陀区财政局 / 年度部门决算 / 2024"), and the cover markers
  预算主管部门：/ 预算单位：;
- the overview heading ("第一部分 青山区大数据中心概况");
- table headers (部门：/ 部门名称：/ 单位名称：/ 编制单位：), e.g. in a tables-only companion file;
- the file name, for the year only (江苏省政协办公厅2018度部门预算公开表.pdf; 24年预算 when unambiguous).
A table-of-contents line, a table title or a generic word (部门) is never a department.

Where the department sits comes from the national division list (package_data/regions.csv):
province, prefecture-level city, county (区/县), and the level of the unit (province | city |
county | township | central). The vocabularies are in package_data/identification.yaml.
A researcher's `catalog.csv` may override any value.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import PurePath

import yaml
from pypinyin import Style, lazy_pinyin

from .document import Document, DocumentMeta, compact
from .errors import IngestError

_HEAD_CHARS = 4000  # titles live at the top; identification reads only this much compacted text
_COVER_LINES = 8  # a cover holds at most this many lines before the contents or the first part
_YEAR_KIND = re.compile(r"(20\d{2})年度?(?:[^，。；、\d]{0,40}?)部门(决算|预算)")
_OVERVIEW = re.compile(r"第[一1]部分(?:[:：])?(.{2,40}?)(?:概况|基本情况)")
_DISTRICT = re.compile(r"([\u4e00-\u9fff]{1,5}?(?:新区|自治县|区|县|旗))")
_CITY_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}?(?:省|自治区))?(?:[\u4e00-\u9fff]{2,4}?市)")
_NOISE = re.compile(r"^(?:附件[\d一二三四五六七八九十]*[:：]?|第[一二三四五六七八九十\d]+部分|目录|\d+)")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_YEAR_WORD = re.compile(r"(?<!\d)(20\d{2})\s*(?:年度?|度)")
_SHORT_YEAR = re.compile(r"(?<!\d)(\d{2})年度?(?:部门|单位)?(?:预算|决算)")
_DATE_LINE = re.compile(r"^\s*20\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*$")
_TOC_LINE = re.compile(r"^(?:目\s*录|第[一二三四五六七八九十\d]+部分)|(?:\.{4,}|…{2,}|·{4,})")
_LEADERS = re.compile(r"(?:\.{4,}|…{2,}|·{4,}|\s\d{1,3}$)")
KIND_EN = {"决算": "final", "预算": "budget"}


@dataclass(frozen=True)
class _Vocab:
    kinds: dict
    title: re.Pattern          # a disclosure title: (scope)?(kind)(suffix)?
    disclosure: re.Pattern     # any disclosure-title phrase
    subject_tail: re.Pattern   # title words between the department and the kind
    table_number: re.Pattern
    table_title: re.Pattern
    narrative: re.Pattern
    cover_marker: re.Pattern
    header_marker: re.Pattern
    generic: frozenset
    placeholder: re.Pattern
    party: re.Pattern
    former: str
    municipalities: frozenset
    province_prefix: re.Pattern
    township: re.Pattern
    township_false: re.Pattern
    central_name: re.Pattern
    central_text: re.Pattern
    short_forms: tuple


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def vocab() -> _Vocab:
    data = yaml.safe_load(resources.files("fiscal_nlp").joinpath("package_data/identification.yaml").read_text("utf-8"))
    kinds, scopes = data["kinds"], data["scopes"]
    name = r"([^\s:：]{2,40}?)"
    markers = lambda words: re.compile(rf"(?:^|\s)(?:{_alt(words)})\s*[:：]\s*{name}(?=\s|单位\s*[:：]|$)", re.M)
    township_false = _alt(data["township_false"])
    return _Vocab(
        kinds=kinds,
        title=re.compile(rf"(?P<scope>{_alt(scopes)})?(?P<kind>{_alt(kinds)})(?P<suffix>{_alt(data['title_suffixes'])})?"),
        disclosure=re.compile("|".join(f"(?:{p})" for p in data["disclosure_title_patterns"])),
        subject_tail=re.compile(rf"(?:{_alt(data['title_subject_words'])})+$"),
        table_number=re.compile(data["table_number_pattern"]),
        table_title=re.compile(data["table_title_pattern"]),
        narrative=re.compile("|".join(data["narrative_markers"])),
        cover_marker=markers(data["cover_markers"]),
        header_marker=markers(data["header_markers"]),
        generic=frozenset(data["generic_names"]),
        placeholder=re.compile(data["placeholder_pattern"]),
        party=re.compile(rf"^(?:{_alt(data['party_prefixes'])})"),
        former=data["former_prefix"],
        municipalities=frozenset(data["municipalities"]),
        province_prefix=re.compile(rf"^(?:{_alt(data['province_prefixes'])})"),
        township=re.compile(rf"^(?:人民政府)?[\u4e00-\u9fff]{{1,6}}?(?:{_alt(data['township_words'])})"),
        township_false=re.compile(township_false),
        central_name=re.compile(rf"^(?:{_alt(data['central_name_prefixes'])})"),
        central_text=re.compile("|".join(f"(?:{p})" for p in data["central_text_markers"]).replace(
            "{ministry}", f"(?:{_alt(data['central_ministries'])})")),
        short_forms=tuple((re.compile(long), short) for long, short in data["short_forms"].items()),
    )


# ---------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    province: str | None = None
    city: str | None = None   # prefecture level (a municipality for its own districts)
    county: str | None = None  # 区/县/县级市/旗
    end: int = 0               # where the region prefix ends in the name it was read from


@lru_cache(maxsize=1)
def _regions() -> tuple[dict, dict, dict]:
    """name -> [rows] for provinces, prefecture cities and counties (regions.csv)."""
    provinces, cities, counties = {}, {}, {}
    with resources.files("fiscal_nlp").joinpath("package_data/regions.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            target = {"province": provinces, "city": cities, "county": counties}[row["level"]]
            target.setdefault(row["name"], []).append(row)
    return provinces, cities, counties


@lru_cache(maxsize=1)
def _longest() -> int:
    return max(len(name) for names in _regions() for name in names)


@lru_cache(maxsize=1)
def _province_anywhere() -> re.Pattern:
    return re.compile(_alt(_regions()[0]))


def _prefix(text: str, names: dict, at: int) -> str | None:
    """The longest name of `names` that `text` has at `at`."""
    for n in range(min(_longest(), len(text) - at), 1, -1):
        if text[at:at + n] in names:
            return text[at:at + n]
    return None


def _strip_name(name: str) -> str:
    """A name without the party prefix and the 原 of a reorganised unit (the region reads after them)."""
    v = vocab()
    name = v.party.sub("", name)
    if name.startswith(v.former) and not any(_prefix(name, names, 0) for names in _regions()):  # 原平市 is a place
        return name[len(v.former):]
    return name


def parse_region(name: str, context: str = "") -> Region:
    """Province, prefecture city and county a department name opens with (or, for names such as
    中国人民政治协商会议江苏省委员会, the province it names). An ambiguous county (青山区: 武汉, 包头)
    takes its city only when `context` (the document's head) prints exactly one of them with it."""
    provinces, cities, counties = _regions()
    text = _strip_name(name)
    at = 0
    province = _prefix(text, provinces, at)
    if province is None:  # the province inside the name
        m = _province_anywhere().search(text)
        if m and not _prefix(text, cities, 0) and not _prefix(text, counties, 0):
            province, at = m.group(), m.start()
    if province:
        at += len(province)
    city = _prefix(text, cities, at)
    if city and province and cities[city][0]["province"] != province:
        city = None
    if city:
        at += len(city)
    county = _prefix(text, counties, at)
    county_rows = [r for r in counties.get(county, ())
                   if (not province or r["province"] == province) and (not city or r["city"] == city)]
    if county and not county_rows:
        county = None
    if county:
        at += len(county)
        if len(county_rows) > 1 and not city:  # the same county name in several places
            named = [r for r in county_rows if r["city"] and r["city"] + county in context]
            county_rows = named if len(named) == 1 else county_rows
        if len(county_rows) == 1:
            province = province or county_rows[0]["province"]
            city = city or county_rows[0]["city"] or None
    elif not county:
        m = _DISTRICT.match(text, at)  # a district the 2021 list does not know (a new 新区, a renamed 区)
        if m and (province or city):
            county, at = m.group(1), m.end()
    if city and not province:
        province = cities[city][0]["province"]
    if province in vocab().municipalities:  # its districts are county level; the city is the municipality
        city = province if county else None
    return Region(province, city, county, at)


def _district(department: str) -> str | None:
    """The 区/县 a department name prints (the `district` column): 武汉市汉阳区大数据中心 -> 汉阳区."""
    region = parse_region(department)
    if region.county:
        return region.county
    rest = department[1:] if department.startswith("原") else department
    rest = _CITY_PREFIX.sub("", rest) or rest
    m = _DISTRICT.match(rest)
    return m.group(1) if m else None


def unit_level(department: str, region: Region, head: str = "") -> str | None:
    """province | city | county | township | central, from the name (and a central unit's own words)."""
    v = vocab()
    rest = _strip_name(department)[region.end:]
    township = v.township.match(rest)
    if (region.county or region.city or region.province) and township and not v.township_false.search(township.group()):
        return "township"
    if region.county:
        return "county"
    if region.city:
        return "city"
    if region.province or v.province_prefix.match(_strip_name(department)):
        return "province"
    if v.central_name.match(_strip_name(department)) or v.central_text.search(head):
        return "central"
    return None


# ---------------------------------------------------------------- ids


def _romanise(text: str) -> str:
    return "".join(lazy_pinyin(text, errors="ignore"))


def department_key(department: str | None) -> str:
    """The department as two files of one disclosure print it alike: without a party prefix
    (中共江苏省委办公厅 = 江苏省委办公厅), in its usual short form (中国人民政治协商会议江苏省委员会办公厅 =
    江苏省政协办公厅, package_data short_forms), without 本级."""
    if not department:
        return ""
    name = compact(department)
    for pattern, short in vocab().short_forms:
        name = pattern.sub(short, name)
    name = vocab().party.sub("", name)
    return re.sub(r"[(（]?本级[)）]?$", "", name)


def make_doc_id(district: str | None, department: str | None, year: int | None, kind: str | None,
                region: str | None = None) -> str:
    """Stable ASCII id: place pinyin, department initials, year, kind — e.g. `hanyang-dsjzx-2021-final`.

    The place is the district (区/县), else `region` (the city or province, or `central`). The
    initials are of the department without its place: 江苏省人民检察院 -> `jiangsu-rmjcy-2019-budget`.
    """
    place = district or region or ""
    dist = (place if place.isascii() else _romanise(re.sub(r"(新区|自治县|自治区|区|县|旗|市|省)$", "", place))) or "unknown"
    dept = department_key(department)
    if district and district in dept:
        dept = dept[dept.index(district) + len(district):]
    elif dept:
        dept = _strip_name(dept)[parse_region(dept).end:]
    dept = _CITY_PREFIX.sub("", dept.lstrip("原")) if dept else dept
    initials = "".join(lazy_pinyin(dept, style=Style.FIRST_LETTER, errors="ignore")) or "dept"
    return f"{dist}-{initials}-{year or 'unknown'}-{kind or 'unknown'}"


def department_hash(department: str | None) -> str:
    """A short hash of the full department name: tells apart two departments whose ids collide."""
    return hashlib.sha256(department_key(department).encode()).hexdigest()[:4]


# ---------------------------------------------------------------- reading the text


def _cover(doc: Document) -> list[str]:
    """The cover's lines: those before the contents, the first part, a table row or a date line
    (on the first page of a PDF)."""
    out = []
    first_page = doc.lines[0].page if doc.lines else None
    for line in doc.lines[:60]:
        text = line.text.strip()
        if not text:
            continue
        if (line.page != first_page or _TOC_LINE.search(text) or "\t" in text or _DATE_LINE.match(text)
                or vocab().cover_marker.search(text) or vocab().header_marker.search(text)
                or re.search(r"[。，；]", text) or len(out) >= _COVER_LINES):
            break
        out.append(text)
    return out


def _valid_department(name: str | None) -> str | None:
    """`name` when it can be a department: not generic, not a region alone, not a table title or TOC line."""
    if not name:
        return None
    v = vocab()
    name = _NOISE.sub("", name.lstrip("#*-> ")).strip("：:，,。、 ")
    name = v.subject_tail.sub("", name)
    name = re.sub(r"20\d{2}年度?$", "", name)
    if len(name) < 2 or name in v.generic or _LEADERS.search(name) or name.endswith("表") or v.title.fullmatch(name):
        return None
    if re.search(r"[\d:：\t]|部分", name) or v.disclosure.search(name) or len(name) > 40:
        return None
    region = parse_region(name)
    rest = _strip_name(name)[region.end:]
    if (region.province or region.city or region.county) and (not rest or rest in v.generic or v.subject_tail.fullmatch(rest)):
        return None  # a place alone ("上海市普陀区" from "上海市普陀区2024年区级部门预算")
    return name


def _read_title(cover: list[str]) -> tuple[str | None, int | None, str | None, str | None]:
    """(department, year, kind, scope) from the cover's title."""
    v = vocab()
    title = compact("".join(cover))
    m = None
    for m in v.title.finditer(title):
        if v.disclosure.search(title, max(0, m.start() - 12), m.end() + 6) or m.group("scope"):
            break
    else:
        m = None
    if m is None:
        return None, None, None, None
    kind = KIND_EN[m.group("kind")]
    scope = m.group("scope") or None
    years = list(_YEAR_WORD.finditer(title[:m.end()]))
    year = int(years[-1].group(1)) if years else None
    if year is None:  # the year as its own text run: "年度部门决算" + "2024"
        runs = {int(compact(c)[:4]) for c in cover if re.fullmatch(r"20\d{2}(?:年度?)?", compact(c))}
        year = runs.pop() if len(runs) == 1 else None
    if year is None:
        short = _SHORT_YEAR.findall(title)
        year = 2000 + int(short[0]) if len(set(short)) == 1 else None
    before = title[:m.start()]
    y = _YEAR_WORD.search(before) or re.search(r"(?<!\d)\d{2}年度?", before)
    department = None
    if y:
        department = _valid_department(before[:y.start()]) or _valid_department(before[y.end():])
    else:
        department = _valid_department(re.sub(r"^20\d{2}|20\d{2}$", "", before))
    return department, year, kind, scope


def _marked_department(pattern: re.Pattern, lines: list[str], first: bool = False) -> str | None:
    """The most frequent (or the `first`) valid name after a marker (部门：中共江苏省委办公厅)."""
    counts: dict[str, int] = {}
    for text in lines:
        if ":" not in text and "：" not in text:  # (NFKC folds ： to :; both kept for unnormalised callers)
            continue
        for m in pattern.finditer(text):
            name = _valid_department(m.group(1))
            if name and first:
                return name
            if name:
                counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda k: (counts[k], -list(counts).index(k))) if counts else None


def _is_placeholder(name: str) -> bool:
    return bool(vocab().placeholder.search(name))


def _file_year(source_file: str) -> int | None:
    """The year a file name prints, when it prints exactly one (2018度, 2021_department, 24年预算)."""
    stem = PurePath(source_file).name
    years = {int(y) for y in _YEAR.findall(stem)}
    if len(years) == 1:
        return years.pop()
    if not years:
        short = set(_SHORT_YEAR.findall(stem))
        if len(short) == 1:
            return 2000 + int(short.pop())
    return None


def _file_kind(source_file: str) -> str | None:
    stem = PurePath(source_file).name
    found = {KIND_EN[k] for k in re.findall("预算|决算", stem)}
    if not found:
        found = {en for word, en in (("budget", "budget"), ("final", "final")) if word in stem.lower()}
    return found.pop() if len(found) == 1 else None


def _tables_only(doc: Document, cover: list[str]) -> bool:
    """A companion file holding only the tables (公开01表 … 公开12表, or opening with 收支预算总表)."""
    v = vocab()
    first = compact(cover[0]) if cover else compact(next((line.text for line in doc.lines if line.text.strip()), ""))
    if not (v.table_number.fullmatch(first) or v.table_title.match(first)):
        return False
    return not any(v.narrative.search(line.text) for line in doc.lines if "\t" not in line.text)


def _has_amounts(doc: Document) -> bool:
    return any(re.search(r"\d\.\d{2}(?!\d)", line.text) for line in doc.lines)


def identify(doc: Document, override: dict | None = None) -> DocumentMeta:
    """Fill doc.meta from the text; raise IngestError('not_a_disclosure') when nothing marks it as one,
    and IngestError('template_no_data') for a blank official template (XX局, no amounts)."""
    v = vocab()
    head_lines = [line.text for line in doc.lines[:400]]
    head = compact("".join(head_lines))[:_HEAD_CHARS]
    cover = _cover(doc)
    department, year, kind, scope = _read_title(cover)
    tables_only = _tables_only(doc, cover)

    m = _YEAR_KIND.search(head)
    if m and year is None and kind in (None, KIND_EN[m.group(2)]):
        year, kind = int(m.group(1)), KIND_EN[m.group(2)]
    if kind is None:
        phrase = v.disclosure.search(head) or (v.disclosure.search(compact(doc.text())) if not tables_only else None)
        k = re.search("预算|决算", phrase.group()) if phrase else None
        kind = KIND_EN[k.group()] if k else None
    if kind is None and tables_only:
        titles = [compact(t) for t in head_lines if v.table_title.match(compact(t))]
        kinds = {KIND_EN[k] for t in titles for k in re.findall("预算|决算", t)}
        kind = kinds.pop() if len(kinds) == 1 else _file_kind(doc.source_file)

    # 预算主管部门：/ 预算单位： on the cover only (a 部门 budget's tables may name its 预算单位 too)
    first_page = doc.lines[0].page if doc.lines else None
    cover_marked = _marked_department(v.cover_marker, [line.text for line in doc.lines[:_COVER_LINES + 12]
                                                       if line.page == first_page], first=True)
    if cover_marked:
        department = cover_marked
    if department is None:
        ov = _OVERVIEW.search(head)
        department = _valid_department(ov.group(1)) if ov else None
    if department is None:
        department = _marked_department(v.header_marker, [line.text for line in doc.lines])
    if department is None and m:
        t = re.search(r"(?:20\d{2}年度?)?(.{2,40}?)(?:20\d{2}年度?)?部门(?:决算|预算)", head[max(0, m.start() - 40): m.end()])
        department = _valid_department(t.group(1)) if t else None
    if department is None:  # the file name as a title: 江苏省委办公厅2019年度部门预算公开表格.pdf
        department = _read_title([PurePath(doc.source_file).stem])[0]
    if year is None and tables_only:
        table_years = {int(y) for t in head_lines for y in re.findall(r"(20\d{2})年度?[^\t]{0,30}?(?:预算|决算)表", compact(t))}
        year = _file_year(doc.source_file) or (table_years.pop() if len(table_years) == 1 else None)
    if year is None:
        year = _file_year(doc.source_file) if kind else None
    if scope is None:
        scope = _scope(head) or (_scope(PurePath(doc.source_file).name) if tables_only else None)

    if kind is None and not override:
        raise IngestError(
            "not_a_disclosure",
            f"{doc.source_file}: no disclosure title found (部门/单位 预算 or 决算, …预算公开, …决算公开说明, "
            f"a 三公 explanation, or the standard tables) — this does not look like a budget or final-account disclosure",
        )
    if department and _is_placeholder(department) and not _has_amounts(doc) and not override:
        raise IngestError(
            "template_no_data",
            f"{doc.source_file}: a blank template ({department}, no amounts printed) — fill it in or leave it out",
        )

    region = parse_region(department, head) if department else Region()
    county = region.county or (_district(department) if department else None)
    level = unit_level(department, region, head) if department else None
    meta = DocumentMeta(
        district=county,
        department=department,
        fiscal_year=year,
        doc_kind=kind,
        unit="万元",
        province=region.province,
        city=region.city,
        county=county,
        level=level,
        scope=scope,
        tables_only=tables_only,
    )
    for key, value in (override or {}).items():
        if value in (None, "") or not hasattr(meta, key):
            continue
        if key == "fiscal_year":
            value = int(value)
        elif key == "tables_only":
            value = str(value).strip().lower() in ("1", "true", "yes")
        setattr(meta, key, value)
    if override and bool(override.get("district")) != bool(override.get("county")):  # one column, two names
        meta.county = meta.district = override.get("district") or override.get("county")
    place = meta.city or meta.province or ("central" if meta.level == "central" else None)
    base_id = make_doc_id(meta.district, meta.department, meta.fiscal_year, meta.doc_kind, region=place)
    if not meta.doc_id:
        meta.doc_id = f"{base_id}-tables" if meta.tables_only else base_id
    if not meta.disclosure_id:  # the narrative file and its tables-only companion share it; the
        # department hash keeps two departments with the same initials apart
        meta.disclosure_id = f"{base_id}-{department_hash(meta.department)}"
    doc.meta = meta
    return meta


def _scope(head: str) -> str | None:
    """部门 or 单位 as the document says of itself (预算单位：/ 单位预算 vs 预算主管部门：/ 部门预算)."""
    unit = re.search(r"单位(?:预算|决算)|预算单位[:：]", head)
    dept = re.search(r"部门(?:预算|决算)|预算主管部门[:：]", head)
    if unit and (not dept or unit.start() < dept.start()):
        return "单位"
    return "部门" if dept else None
