"""Recall of the narrative extractor on the real PDFs in ../shared/real, against statements read by hand.

    python benchmarks/narrative_recall.py [SHARED_REAL_DIR] [-v]

Every year-over-year change and budget-vs-actual statement of the PDFs' explanation text was
read by a person (subject, delta/percent or budget/actual/rate, and whether the text gives a
reason); the table below is that reading. A statement counts as found when a row of its kind
has the subject key in its subject and the same figures (±0.005). Printed: change recall,
variance recall, the share of statements with a printed reason whose row carries one, and the
share of rows that match a hand-read statement. Not a test (reading nine PDFs takes minutes).
"""
from __future__ import annotations

import sys
from pathlib import Path

from fiscal_nlp.ingest import identify, read_document
from fiscal_nlp.narrative import extract_rows

ROOT = Path(__file__).resolve().parents[1]
R, N = True, False
GOLD = {
"2019年度部门预算公开": [
 ("C","收、支预算总计",2214.39,10.06,N),("C","一般公共预算收入",2228.78,10.15,R),("C","公共安全",134.37,0.82,R),
 ("C","社会保障和就业",54.05,2.94,R),("C","住房保障",2025.97,55.35,R),("C","基本支出",1849.73,13.22,R),
 ("C","项目支出",-1237.7,-13.22,R),("C","预留机动经费",1602.36,67.1,R),("C","财政拨款收、支总计",2228.78,10.15,R),
 ("C","财政拨款支出",2228.78,10.15,R),("C","行政运行",1385.26,12.73,R),("C","一般行政管理事务",-1311.6,-35.77,R),
 ("C","检察监督",-709.4,-37.44,R),("C","未归口管理",28.1,7.57,R),("C","基本养老保险",18.53,1.77,R),
 ("C","职业年金",7.42,1.77,R),("C","住房公积金",368.97,34.38,R),("C","提租补贴",1657,64.07,R),
 ("C","一般公共预算财政拨款支出",2228.78,10.15,R),("C","因公出国",-20,None,R),("C","公务用车运行维护费",-30.8,None,R),
 ("C","公务接待费",-15.24,None,R),("C","会议费",-42,None,R),("C","培训费",0,None,N),("C","机关运行经费",-330.65,-12.14,R)],
"江苏省委办公厅2019年度部门预算公开文件": [
 ("C","收、支预算总计",3205.79,13.11,N),("C","一般公共预算收入",3205.79,13.11,R),("C","政府性基金收入",0,None,N),
 ("C","财政专户管理资金",0,None,N),("C","其他资金收入",0,None,N),("C","上年结转资金",0,None,N),
 ("C","一般公共服务",2241.75,11.12,R),("C","社会保障和就业",85.11,6.60,R),("C","住房保障",878.93,30,R),
 ("C","基本支出",1297.52,12.47,R),("C","项目支出",943.92,7.81,R),("C","预留机动经费",964.35,48.86,R),
 ("C","财政拨款收、支总计",3205.79,13.11,R),("C","财政拨款支出",3205.79,13.11,R),("C","行政运行",1297.83,16.07,R),
 ("C","一般行政管理事务",943.92,7.81,R),("C","未归口管理",26.77,10.76,R),("C","基本养老保险",41.67,5.60,R),
 ("C","职业年金",16.67,5.60,R),("C","住房公积金",250.59,35.03,R),("C","提租补贴",628.34,27.32,R),
 ("C","一般公共预算财政拨款支出",3205.79,13.11,R),("C","因公出国",0,None,N),("C","公务用车购置",0,None,N),
 ("C","公务用车运行维护费",0,None,N),("C","公务接待费",0,None,N),("C","会议费",0,None,N),("C","培训费",0,None,N),
 ("C","政府性基金",0,None,N),("C","机关运行经费",138.33,6.60,R)],
"江苏省政协办公厅2018年度部门预算": [
 ("C","收、支预算总计",1003.69,10.97,R),("C","一般公共预算收入",1003.69,11.07,R),("C","政府性基金收入",0,None,N),
 ("C","财政专户管理资金",0,None,N),("C","其他资金收入",0,None,N),("C","上年结转资金",0,None,N),
 ("C","一般公共服务",1283.91,19.62,R),("C","社会保障和就业",-685.96,-45.44,R),("C","住房保障",405.74,37.10,R),
 ("C","基本支出",-238.10,-4.02,R),("C","项目支出",191,6.11,R),("C","预留机动经费",1050.79,983.52,R),
 ("C","财政拨款收、支总计",1003.69,11.07,R),("C","财政拨款支出",1003.69,11.07,R),("C","行政运行",1199.75,37.11,R),
 ("C","一般行政管理事务",202.40,12.83,R),("C","政协会议",-213.74,-20.79,R),("C","委员视察",0,None,N),
 ("C","其他政协事务",95.50,48.85,R),("C","未归口管理",-1256.90,-83.25,R),("C","住房公积金",49.91,14.60,R),
 ("C","提租补贴",355.83,47.33,R),("C","一般公共预算财政拨款支出",1003.69,11.07,R),("C","因公出国",30,None,R),
 ("C","公务用车购置费",0,None,N),("C","公务用车运行维护费",0,None,N),("C","公务接待费",-31,None,R),
 ("C","会议费",-210.46,None,R),("C","培训费",16,None,R),("C","政府性基金",0,None,N),("C","机关运行经费",-2233.13,-66.69,R),
 ("C","国有资本经营预算收入",0,None,N)],
"上海市普陀区商务委员会单位25年预算": [
 ("C","财政拨款收入",24558.18,None,R),("C","财政拨款支出",24491.71,None,N),("C","一般公共预算拨款支出",24491.71,None,N),
 ("C","政府性基金",0,None,N),("C","国有资本经营",0,None,N),("C","三公",0,None,N),("C","因公出国",0,None,R),
 ("C","公务用车购置及运行费",0,None,R),("C","公务用车购置费",0,None,R),("C","公务用车运行费",0,None,R),("C","公务接待费",0,None,R)],
"上海市普陀区人民政府万里街道办事处24年预算": [
 ("C","财政拨款收入",-876.75,None,R),("C","财政拨款支出",-876.75,None,N),("C","一般公共预算拨款支出",-876.75,None,N),
 ("C","政府性基金",0,None,N),("C","国有资本经营",0,None,N)]
 + [("C","(项)",None,p,R) for p in (-57.14,-6.19,46.19,-2.98,32.33,-7.52,100.00,2.36,100.00,"flat","flat",19.75,22.36,28.89,
    15.95,25.81,8.12,2.54,"flat",-44.60,"flat",49.45,20.81,-12.60,-15.58,-10.69,2.75,25.44,-27.81,-49.41,0.53,0.64,"flat")]
 + [("C","三公",25,None,N),("C","因公出国",0,None,R),("C","公务用车购置及运行费",25,None,R),("C","公务用车购置费",25,None,R),
    ("C","公务用车运行费",0,None,R),("C","公务接待费",0,None,R)],
"上海市普陀区财政局2024年度部门决算": [
 ("V","一般公共预算财政拨款支出",2993.92,2940.05,98.20,R),("V","行政运行(项)",1560.05,1511.89,None,R),
 ("V","一般行政管理事务(项)",10.00,10.00,None,N),("V","信息化建设(项)",135.90,135.25,None,R),("V","财政委托业务支出(项)",450.52,449.52,None,R),
 ("V","行政单位离退休(项)",85.55,84.65,None,R),("V","基本养老保险缴费支出(项)",161.62,160.75,None,R),("V","职业年金缴费支出(项)",80.81,80.38,None,R),
 ("V","其他行政事业单位养老支出(项)",0.94,0.94,None,N),("V","行政单位医疗(项)",62.29,60.99,None,R),("V","住房公积金(项)",187.75,187.19,None,R),
 ("V","购房补贴(项)",258.50,258.50,None,N),("V","三公",0.95,0.00,0,R),("V","因公出国",None,0.00,0,N),
 ("V","公务用车购置及运行维护费",None,0.00,0,N),("V","公务接待费",None,0.00,0,N),
 ("C","收入支出总计",-56.95,-1.87,R),("C","财政拨款收入支出总计",0,None,R),("C","一般公共预算财政拨款支出",-63.14,-2.10,R),
 ("C","三公",0,None,N),("C","因公出国",0,None,N),("C","公务用车购置及运行维护费",0,None,N),("C","公务接待费",0,None,N),
 ("C","机关运行经费",2.55,1.40,R)],
"上海市普陀区规划和自然资源局 2024 年度部门决算": [
 ("V","一般公共预算财政拨款支出",10210.34,9746.50,95.45,R),("V","行政单位离退休(项)",54.53,54.53,100.00,N),
 ("V","事业单位离退休(项)",28.11,28.11,100.00,N),("V","基本养老保险缴费支出(项)",452.40,446.11,98.61,R),
 ("V","职业年金缴费支出(项)",226.25,225.12,99.50,R),("V","退休人员活动费支出(项)",0.88,0.88,100.00,N),
 ("V","行政单位医疗(项)",42.73,40.35,94.43,R),("V","事业单位医疗(项)",196.40,196.29,99.94,R),("V","行政运行(项)",1115.48,1092.80,97.97,R),
 ("V","城乡社区规划与管理(项)",3110.14,2739.56,88.08,R),("V","事业运行(项)",4477.33,4416.67,98.65,R),
 ("V","其他国土资源事务支出(项)",45.00,45.00,100.00,N),("V","住房公积金(项)",289.59,289.59,100.00,N),("V","购房补贴(项)",171.49,171.49,100.00,N),
 ("V","三公",2.85,0.39,13.68,R),("V","因公出国",None,0.00,0.00,N),("V","公务用车购置及运行维护费",None,0.00,0.00,N),("V","公务接待费",None,0.39,13.68,N),
 ("C","收入支出总计",1062.85,12.08,R),("C","财政拨款收入支出总计",1193.20,13.95,R),("C","一般公共预算财政拨款支出",1193.20,None,R),
 ("C","三公",-0.15,None,N),("C","因公出国",0,None,N),("C","公务用车购置及运行维护费",0,None,N),("C","公务接待费",-0.15,-27.78,R),
 ("C","机关运行经费",-13.52,-8.65,R)],
"04_swu_2021_department_budget": [
 ("C","收支总预算",2780.98,None,R),("C","本年预算收入",-1106.89,None,N),("C","财政拨款收入",-6331.03,None,R),("C","事业",2110.3,None,R),
 ("C","其他收入",3113.84,None,R),("C","本年支出预算",-2219.02,None,R),("C","教育支出",-1505.49,None,N),("C","科学技术支出",166.77,None,N),
 ("C","农林水支出",-1206,None,N),("C","住房保障支出",325.7,None,N),("C","财政拨款支出",-6331.03,None,N),("C","教育支出",-6505.48,None,R),
 ("C","科学技术支出",166.77,None,R),("C","住房保障支出",7.68,None,N)],
"21_swu_2023_final_accounts__download.jsp": [
 ("C","收入总计",-23616.80,-5.20,N),("C","财政拨款收入",14458.07,None,N),("C","事业收入",974.61,None,N),("C","其他收入",-39049.48,None,R),
 ("C","支出总计",54492.83,13.52,N),("C","教育支出",52499.75,None,R),("C","科学技术支出",965.07,None,N),("C","社会保障和就业支出",-196.69,None,N),
 ("C","农林水支出",-16.84,None,N),("C","住房保障支出",1209.04,None,N),("C","其他支出",32.50,None,N)]
 + [("C",k,None,p,N) for k,p in (("小学教育",0.39),("高中教育",17.14),("高等教育",0.29),("来华留学教育",28.30),("其他留学教育支出",-4.50),
    ("其他教育支出",1.08),("机构运行",-1.76),("实验室及相关设施",134.61),("基本养老保险缴费支出",7.51),("职业年金缴费支出",7.51),
    ("住房公积金",0.50),("购房补贴",-0.38))],
}

FILES = {
    "2019年度部门预算公开": "jiangsu-provincial/2019年度部门预算公开.pdf",
    "江苏省委办公厅2019年度部门预算公开文件": "jiangsu-provincial/江苏省委办公厅2019年度部门预算公开文件.pdf",
    "江苏省政协办公厅2018年度部门预算": "jiangsu-provincial/江苏省政协办公厅2018年度部门预算.pdf",
    "上海市普陀区商务委员会单位25年预算": "shanghai-putuo/上海市普陀区商务委员会单位25年预算.pdf",
    "上海市普陀区人民政府万里街道办事处24年预算": "shanghai-putuo/上海市普陀区人民政府万里街道办事处24年预算.pdf",
    "上海市普陀区财政局2024年度部门决算": "shanghai-putuo/上海市普陀区财政局2024年度部门决算.pdf",
    "上海市普陀区规划和自然资源局 2024 年度部门决算": "shanghai-putuo/上海市普陀区规划和自然资源局 2024 年度部门决算.pdf",
    "04_swu_2021_department_budget": "university-moe/04_swu_2021_department_budget.pdf",
    "21_swu_2023_final_accounts__download.jsp": "university-moe/21_swu_2023_final_accounts__download.jsp.pdf",
}


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) < 0.006


def _matches(g: tuple, r: dict) -> bool:
    if g[1] not in (r.get("metric") or r.get("subject") or ""):
        return False
    if g[0] == "C":
        delta, pct = g[2], g[3]
        if pct == "flat":
            return r["delta"] is not None and float(r["delta"]) == 0
        if delta is not None:
            return _close(r["delta"], delta) and (pct is None or r["pct"] is None or _close(r["pct"], pct))
        return _close(r["pct"], pct)
    budget, actual, rate = g[2], g[3], g[4]
    return (_close(r["actual"], actual) and ((budget is None and r["budget"] is None) or _close(r["budget"], budget))
            and (rate is None or r["stated_rate"] is None or _close(r["stated_rate"], rate)))


def main(real: Path, verbose: bool) -> None:
    n = dict(changes=0, changes_found=0, variances=0, variances_found=0, reasons=0, reasons_found=0, rows=0, rows_matched=0)
    for doc_name, relative in FILES.items():
        doc = read_document(real / relative)
        identify(doc)
        rows = extract_rows(doc)
        pools = {"C": rows["changes"], "V": rows["variances"]}
        used: set[tuple[str, int]] = set()
        for g in GOLD[doc_name]:
            hit = next((i for i, r in enumerate(pools[g[0]]) if (g[0], i) not in used and _matches(g, r)), None)
            kind = "changes" if g[0] == "C" else "variances"
            n[kind] += 1
            n["reasons"] += g[-1]
            if hit is None:
                if verbose:
                    print(f"  {doc_name}: missed {g}")
                continue
            used.add((g[0], hit))
            n[kind + "_found"] += 1
            n["reasons_found"] += bool(g[-1] and pools[g[0]][hit]["reason"])
        n["rows"] += len(pools["C"]) + len(pools["V"])
        n["rows_matched"] += len(used)
    print(f"change recall   {n['changes_found']}/{n['changes']} = {n['changes_found'] / n['changes']:.3f}")
    print(f"variance recall {n['variances_found']}/{n['variances']} = {n['variances_found'] / n['variances']:.3f}")
    print(f"reasons attached {n['reasons_found']}/{n['reasons']} = {n['reasons_found'] / n['reasons']:.3f}")
    print(f"rows matching a hand-read statement {n['rows_matched']}/{n['rows']} = {n['rows_matched'] / max(n['rows'], 1):.3f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    real = Path(args[0]) if args else next(
        (p for p in (ROOT.parent / "shared" / "real", ROOT.parent.parent / "shared" / "real") if p.exists()), None)
    if real is None or not real.exists():
        sys.exit("narrative_recall: the real PDFs (../shared/real) are not available; pass their folder")
    main(real, "-v" in sys.argv)
