"""fiscal_nlp.ingest.html: disclosures published as web pages.

Fixtures: seeds 000 and 003 rendered at test time by `format_factory.render_html` inside a
government CMS page (navigation, breadcrumb, font-size widget, share buttons, previous/next
links, related disclosures, footer, scripts), and small pages written here for what a page can
get wrong (no disclosure, tables as images, GBK, an "xls" export that is an HTML table).
"""
from __future__ import annotations

import lxml.html
import pytest

import format_factory
from conftest import golden_line_items, load_doc, seed_path
from fiscal_nlp.ingest import IngestError, compact, identify, normalise, read_bytes, read_document
from fiscal_nlp.pipeline import extract_document
from fiscal_nlp.tables import extract_line_items

SEEDS = ["000", "003"]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    return {seed: format_factory.render_html(seed_path(seed).read_text("utf-8"), folder / f"{seed}.html")
            for seed in SEEDS}


@pytest.fixture(scope="module")
def docs(pages):
    out = {}
    for seed, path in pages.items():
        doc = read_document(path)
        identify(doc)
        out[seed] = doc
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_page_gives_the_hand_read_line_items(docs, seed):
    """Every cell of the nine tables, as read by hand (tests/golden), and nothing else."""
    got = format_factory.item_set(extract_line_items(docs[seed])[0])
    want = format_factory.item_set(golden_line_items(seed))
    assert (want - got, got - want) == (set(), set())


@pytest.mark.parametrize("seed", SEEDS)
def test_page_gives_the_text_paths_narrative(pages, seed):
    """variances, changes, facts, projects and reform events: the same rows as from the text."""
    text = extract_document(seed_path(seed))
    page = extract_document(pages[seed])
    assert page["documents"]["format"].tolist() == ["html"]
    assert page["documents"]["doc_id"].tolist() == text["documents"]["doc_id"].tolist()
    for name in format_factory.NARRATIVE_TABLES:
        assert format_factory.content_rows(page, name) == format_factory.content_rows(text, name), name
    assert len(page["variances"]) == {"000": 6, "003": 14}[seed]  # as counted in tests/golden/narrative


@pytest.mark.parametrize("seed", SEEDS)
def test_site_chrome_is_not_read(docs, seed):
    doc = docs[seed]
    text = "\n".join(line.text for line in doc.lines)
    # words of the page's chrome that the seeds never use
    for chrome in ("首页", "当前位置", "字体", "打印本页", "分享到", "微博", "上一篇", "下一篇", "相关文章", "主办",
                   "ICP", "统计代码", "_hmt", "区民政局"):
        assert chrome not in text, chrome
    # the page starts where the disclosure starts, with its own title
    first = next(line for line in doc.lines if line.text.strip())
    assert compact(first.text) == compact(next(ln for ln in seed_path(seed).read_text("utf-8").splitlines() if ln.strip()))
    assert (doc.meta.department, doc.meta.fiscal_year, doc.meta.doc_kind) == (
        load_doc(seed).meta.department, load_doc(seed).meta.fiscal_year, "final")


def test_each_line_names_the_element_it_came_from(pages, docs):
    """`Line.location` is an XPath into the page: the row it names holds the line's cells."""
    tree = lxml.html.parse(str(pages["000"]))
    row = next(line for line in docs["000"].lines if line.text.startswith("2010399\t"))
    (tr,) = tree.xpath(row.location)
    assert tr.tag == "tr"
    assert [compact(normalise(td.text_content())) for td in tr] == ["2010399", "其他政府办公厅(室)及相关机构事务支出",
                                                         "2,392.38", "2,392.16", "", "", "", "", "0.22"]
    paragraph = next(line for line in docs["000"].lines if line.text.startswith("2021 年度收、支总计均为"))
    (p,) = tree.xpath(paragraph.location)
    assert p.tag == "p" and p.text_content().startswith("2021 年度收、支总计均为 2785.73 万元")


def test_merged_header_cells_line_up_as_in_the_text(docs):
    """收入 spans three columns (colspan=3) and 支出 the next three: one label, then blanks."""
    rows = [line.text for line in docs["000"].lines if "\t" in line.text]
    assert "收入\t\t\t支出\t\t" in rows
    assert "项目\t\t本年收入 合计\t财政拨款 收入\t上 级 补 助 收 入\t事 业 收 入\t经 营 收 入\t附 属 单 位 上 缴 收 入\t其 他 收 入" in rows


def test_charts_are_listed_as_images(pages):
    """The page's three charts are <img>: listed, with an `info` row (every table was read)."""
    tables = extract_document(pages["000"])
    ocr = tables["checks"][tables["checks"]["check"] == "ocr_needed"]
    assert len(ocr) == 1 and ocr.iloc[0]["severity"] == "info"
    assert "4 image(s)" in ocr.iloc[0]["detail"] and "图 1：收、支决算总计变动情况" in ocr.iloc[0]["detail"]


def _narrative_with_tables_as_images(text: str) -> str:
    """Seed 000 with each table replaced by a picture of it, as some sites publish them."""
    blocks, out, n = format_factory.seed_blocks(text), [], 0
    for block in blocks:
        if block.rows is not None:
            n += 1
            out.append(f'<p><img src="/upload/table{n}.jpg"></p>')
        else:
            out.append(f"<p>{block.text}</p>")
    return "<!DOCTYPE html><html><body><div class='content'>" + "\n".join(out) + "</div></body></html>"


def test_tables_published_as_images_are_flagged(tmp_path):
    page = tmp_path / "pictures.html"
    page.write_text(_narrative_with_tables_as_images(seed_path("000").read_text("utf-8")), "utf-8")
    tables = extract_document(page)
    assert tables["line_items"].empty
    ocr = tables["checks"][tables["checks"]["check"] == "ocr_needed"]
    assert len(ocr) == 1 and ocr.iloc[0]["severity"] == "warning"
    assert "OCR" in ocr.iloc[0]["detail"] and "income" in ocr.iloc[0]["detail"]
    assert len(tables["variances"]) == 6  # the narrative is still read


def test_page_of_images_only_needs_ocr():
    page = b"<!DOCTYPE html><html><body><div class='content'><img src='a.jpg'><img src='b.jpg'></div></body></html>"
    with pytest.raises(IngestError) as err:
        read_bytes(page, "scan.html")
    assert err.value.kind == "html_no_text" and "scan.html" in err.value.message and "OCR" in err.value.message


def test_page_without_a_disclosure_names_its_attachments():
    """A listing page that only links to the disclosure's files: html_no_disclosure, naming one."""
    page = """<!DOCTYPE html><html><head><title>部门决算</title></head><body>
    <div class="nav"><a href="/">首页</a><a href="/zwgk/">政务公开</a></div>
    <div class="content"><ul>
    <li><a href="/upload/2021年部门决算公开.pdf">2021年部门决算公开.pdf</a></li>
    <li><a href="/upload/2021年部门决算公开表.xlsx">2021年部门决算公开表.xlsx</a></li></ul></div>
    <div class="footer">主办单位：区人民政府办公室</div></body></html>""".encode()
    with pytest.raises(IngestError) as err:
        read_bytes(page, "list.html")
    assert err.value.kind == "html_no_disclosure" and "list.html" in err.value.message
    assert "2 attachment(s)" in err.value.message and "2021年部门决算公开.pdf" in err.value.message


def test_gbk_page_with_meta_charset(pages):
    """Many government sites still serve GB2312/GBK: the <meta charset> decides."""
    html = pages["000"].read_text("utf-8").replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    doc = read_bytes(html.encode("gb18030"), "gbk.html")
    got = format_factory.item_set(extract_line_items(doc)[0])
    assert got == format_factory.item_set(golden_line_items("000"))


def test_xls_export_that_is_an_html_table(pages):
    """Some sites' "xls" downloads are HTML tables: read by content, not by name."""
    doc = read_bytes(pages["003"].read_bytes(), "公开表.xls")
    assert doc.format == "html"
    assert format_factory.item_set(extract_line_items(doc)[0]) == format_factory.item_set(golden_line_items("003"))


def test_layout_table_around_the_article_is_not_a_data_table():
    """Old CMS pages lay the page out with a <table>: the tables inside its cells are the data."""
    income = format_factory.seed_blocks(format_factory_excerpt("000"))
    body = "".join(f"<p>{b.text}</p>" if b.rows is None else format_factory.html_table(b.rows) for b in income)
    page = (f"<html><body><table width='100%'><tr><td><a href='/'>首页</a> <a href='/a'>政务公开</a></td></tr>"
            f"<tr><td>{body}</td></tr></table></body></html>").encode()
    doc = read_bytes(page, "layout.html")
    assert "合计\t\t2,784.73\t2,784.51\t\t\t\t\t0.22" in [line.text for line in doc.lines]
    assert not any("首页" in line.text for line in doc.lines)  # the link row of the layout table


def test_chrome_is_dropped_without_a_named_article_container(pages):
    """No id/class marks the article: navigation, share buttons, link lists and footer still go."""
    html = pages["000"].read_text("utf-8").replace(' id="zoom" class="TRS_Editor"', "").replace(' class="article"', "")
    doc = read_bytes(html.encode(), "plain.html")
    identify(doc)
    text = "\n".join(line.text for line in doc.lines)
    for chrome in ("首页", "当前位置", "字体", "分享到", "微博", "上一篇", "相关文章", "主办", "ICP", "_hmt"):
        assert chrome not in text, chrome
    assert doc.meta.doc_id == "hanyang-dsjzx-2021-final"
    assert format_factory.item_set(extract_line_items(doc)[0]) == format_factory.item_set(golden_line_items("000"))


def format_factory_excerpt(seed: str) -> str:
    from pdf_factory import excerpt

    return excerpt(seed_path(seed).read_text("utf-8"), "2021 年度收入决算表", "三、支出决算表")


def test_hidden_elements_and_comments_are_not_read(pages):
    """display:none blocks, the hidden attribute and comments hold text the page does not show."""
    html = pages["000"].read_text("utf-8").replace(
        '<div id="zoom" class="TRS_Editor">',
        '<div id="zoom" class="TRS_Editor"><!-- 2019 年度部门预算 旧稿 --><div style="display: none">2010301\t行政运行\t987,654.32</div>'
        '<p hidden>2020 年度部门预算</p><table style="visibility:hidden"><tr><td>合计</td><td>987,654.32</td></tr></table>')
    doc = read_bytes(html.encode(), "hidden.html")
    identify(doc)
    text = "\n".join(line.text for line in doc.lines)
    assert "987,654.32" not in text and "旧稿" not in text and "2020 年度部门预算" not in text
    assert (doc.meta.fiscal_year, doc.meta.doc_kind) == (2021, "final")


def test_spans_and_word_style_cells_lay_out_on_the_grid():
    """rowspan/colspan as Word's "save as web page" writes them: <p> and <span> inside cells, &nbsp; blanks."""
    page = """<html><body><div class="content"><p>2021 年度支出决算表</p>
    <table>
    <tr><td colspan="2" rowspan="2"><p class="MsoNormal"><span>项目</span></p></td>
        <td rowspan="2"><p>本年支出</p><p>合计</p></td><td colspan="2"><p>其中</p></td></tr>
    <tr><td>基本<br>支出</td><td>项目支出</td></tr>
    <tr><td>201</td><td>一般公共服务支出</td><td>2,729.12</td><td>335.75</td><td>&nbsp;</td></tr>
    </table></div></body></html>""".encode()
    rows = [line.text for line in read_bytes(page, "word.html").lines if "\t" in line.text]
    assert rows == ["项目\t\t本年支出合计\t其中\t",
                    "\t\t\t基本支出\t项目支出",
                    "201\t一般公共服务支出\t2,729.12\t335.75\t"]


def test_tables_beside_the_article_container_are_still_read():
    """The narrative in the CMS's article block, the tables in a sibling block: both are read."""
    blocks = format_factory.seed_blocks(seed_path("000").read_text("utf-8"))
    html = ["".join(f"<p>{b.text}</p>" if b.rows is None else format_factory.html_table(b.rows)) for b in blocks]
    parts = [i for i, b in enumerate(blocks) if b.text and b.text.startswith(("第二部分", "第三部分"))]
    start, end = parts[2], parts[3]  # the second part's body (the tables), after the table of contents
    page = (f"<html><body><div class='nav'><a href='/'>首页</a><a href='/b'>部门预决算</a></div>"
            f"<div class='TRS_Editor'>{''.join(html[:start] + html[end:])}</div>"
            f"<div class='attachment-tables'>{''.join(html[start:end])}</div></body></html>")
    doc = read_bytes(page.encode(), "split.html")
    assert format_factory.item_set(extract_line_items(doc)[0]) == format_factory.item_set(golden_line_items("000"))
    assert not any("首页" in line.text for line in doc.lines)


def test_page_wrapped_in_one_form_is_read(pages):
    """ASP.NET sites wrap the whole page in <form id="form1">: the form is not chrome then."""
    html = pages["003"].read_text("utf-8").replace("<body>", '<body><form id="form1" method="post">').replace(
        "</body>", "</form></body>")
    doc = read_bytes(html.encode(), "aspx.html")
    assert format_factory.item_set(extract_line_items(doc)[0]) == format_factory.item_set(golden_line_items("003"))


def test_checkboxes_read_as_ticks():
    page = """<html><body><div class="content"><p>2021 年度运行维护项目自评表</p><table>
    <tr><td>项目类别</td><td>1、部门预算项目 <input type="checkbox" checked> 2、市直专项 <input type="checkbox"></td></tr>
    <tr><td>项目名称</td><td>运行维护费<input type="text" value="x"></td></tr></table></div></body></html>"""
    rows = [line.text for line in read_bytes(page.encode(), "form.html").lines if "\t" in line.text]
    assert rows == ["项目类别\t1、部门预算项目 ☑ 2、市直专项 ☐", "项目名称\t运行维护费"]
