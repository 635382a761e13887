"""Reading customer files: every format and encoding, headers, and files that cannot be read.

All fixtures are written into tmp_path by the tests themselves (no committed binaries).
"""
from __future__ import annotations

import codecs
import io
import os
import zipfile

import polars as pl
import pytest
import xlsxwriter

from intake import InputFileError, load_accounts, read_customer_file, validate_accounts
from intake.load import SURPLUS_COLUMN

EN_HEADER = "account_id,name,province,customer_type,annual_kwh"
ZH_HEADER = "户号,企业名称,所在地区,用电类别,年用电量(kWh)"


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> os.PathLike:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path, sheets: dict[str, list[list]], start_row: int = 0):
    """A workbook with one worksheet per entry; rows are lists of cell values."""
    wb = xlsxwriter.Workbook(path)
    for sheet, rows in sheets.items():
        ws = wb.add_worksheet(sheet)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(start_row + r, c, value)
    wb.close()
    return path


# --- CSV encodings -----------------------------------------------------------------------------

def test_utf8_csv_with_english_headers(tmp_path):
    path = write(tmp_path, "list.csv", f"{EN_HEADER}\nA1,华能测试有限公司,江苏省,large_industrial,1000\n"
                                       "A2,B公司,浙江,general_commercial,2000\n")
    raw = read_customer_file(path)
    assert raw.format == "csv" and raw.encoding == "utf-8"
    assert raw.frame["row_number"].to_list() == [2, 3]
    assert raw.frame["name"].to_list() == ["华能测试有限公司", "B公司"]
    assert raw.frame.schema["annual_kwh"] == pl.Utf8          # everything is text until validation


def test_utf8_bom_csv_with_chinese_headers(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + f"{ZH_HEADER}\n1001,苏州（集团）有限公司,江苏,大工业,\"1,234,567\"\n".encode())
    raw = read_customer_file(path)
    assert raw.encoding == "utf-8-sig"
    assert raw.headers["account_id"] == "户号"            # the BOM did not stick to the first header
    result = validate_accounts(raw)
    row = result.accounts.row(0, named=True)
    assert (row["account_id"], row["name"], row["province"]) == ("1001", "苏州（集团）有限公司", "江苏省")
    assert row["customer_type"] == "large_industrial" and row["annual_kwh"] == 1234567.0


def test_gbk_csv_with_chinese_headers(tmp_path):
    text = (f"{ZH_HEADER},所属行业,是否出口,客户经理\n"
            "3200001,无锡恒达钢铁有限公司,江苏省,大工业,5000000,钢铁冶炼,是,王伟\n"
            "3200002,杭州锦绣花园3号楼居民用电,浙江,居民,3200,,否,\n")
    path = write(tmp_path, "gbk.csv", text, "gbk")
    raw = read_customer_file(path)
    assert raw.encoding == "gb18030"
    result = validate_accounts(raw)
    assert result.rejects.height == 0
    assert result.accounts["name"].to_list() == ["无锡恒达钢铁有限公司", "杭州锦绣花园3号楼居民用电"]
    assert result.accounts["is_exporter"].to_list() == [True, False]
    assert result.accounts["sales_rep"].to_list() == ["王伟", None]


def test_gb18030_characters_outside_gbk(tmp_path):
    name = "𪚥𠀀科技有限公司"                   # CJK extension B: four-byte GB18030, not in GBK
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    path = write(tmp_path, "gb18030.csv", f"{ZH_HEADER}\nX1,{name},广东,一般工商业,100\n", "gb18030")
    result = load_accounts(path)
    assert result.accounts["name"].to_list() == [name]


def test_utf16_tab_separated_unicode_text(tmp_path):
    # What Excel writes as "Unicode Text": UTF-16 with a BOM, tab-separated.
    text = "\t".join(ZH_HEADER.split(",")) + "\nU1\t北京某某有限公司\t北京\t一般工商业\t1200\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    raw = read_customer_file(path)
    assert raw.encoding == "utf-16"
    assert validate_accounts(raw).accounts["province"].to_list() == ["北京市"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators(tmp_path, sep):
    text = EN_HEADER.replace(",", sep) + "\n" + sep.join(["A1", "Name, with comma", "Hubei", "residential", "3000"]) + "\n"
    result = load_accounts(write(tmp_path, "sep.csv", text))
    assert result.accounts["name"].to_list() == ["Name, with comma"]
    assert result.accounts["province"].to_list() == ["湖北省"]


def test_crlf_line_endings(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(f"{EN_HEADER}\r\nA1,N,Hebei,residential,100\r\nA2,M,Hebei,residential,200\r\n".encode())
    result = load_accounts(path)
    assert result.accounts["annual_kwh"].to_list() == [100.0, 200.0]
    assert result.accounts["row_number"].to_list() == [2, 3]


# --- header row, row numbers, blank rows, extra columns -------------------------------------------

def test_title_row_above_header_is_skipped_and_rows_keep_sheet_numbers(tmp_path):
    text = f"2025年重点客户清单,,,,\n{ZH_HEADER}\nA1,甲公司,山东,大工业,100\n"
    raw = read_customer_file(write(tmp_path, "title.csv", text))
    assert raw.frame["row_number"].to_list() == [3]


def test_blank_rows_are_dropped_and_later_rows_keep_their_numbers(tmp_path):
    text = f"{EN_HEADER}\nA1,N,Hebei,residential,100\n\n , , , , \nA2,M,Hebei,residential,200\n,,,,\n"
    result = load_accounts(write(tmp_path, "blank.csv", text))
    assert result.rows_read == 2
    assert result.accounts["row_number"].to_list() == [2, 5]


def test_quoted_newlines_count_as_one_spreadsheet_row(tmp_path):
    text = f'{EN_HEADER}\nA1,"two\nlines, and ""quotes""",Hebei,residential,100\nA2,M,Hebei,residential,200\n'
    result = load_accounts(write(tmp_path, "quoted.csv", text))
    assert result.accounts["name"].to_list() == ['two\nlines, and "quotes"', "M"]
    assert result.accounts["row_number"].to_list() == [2, 3]


def test_unknown_columns_are_kept_and_ignored(tmp_path):
    text = f"{EN_HEADER},备注,,internal code\nA1,N,Hebei,residential,100,重点客户,,x9\n"
    raw = read_customer_file(write(tmp_path, "extra.csv", text))
    assert raw.extras.columns == ["备注", "internal code"]
    assert raw.extras.row(0) == ("重点客户", "x9")
    assert validate_accounts(raw).accounts.height == 1


def test_header_variants_whitespace_case_fullwidth_units_and_markers(tmp_path):
    text = (" *户号 ,客户名称,省份,用电类别（大工业/一般工商业/居民）,年用电量（KWH）,年电费(元),"
            "屋顶面积(㎡),是否出口(是/否),Loan_Rate\n"
            "A1,N,Hebei,居民,100,55.5,120,否,4.5%\n")
    raw = read_customer_file(write(tmp_path, "variants.csv", text))
    assert set(raw.headers) == {"account_id", "name", "province", "customer_type", "annual_kwh",
                                "annual_bill_yuan", "roof_area_m2", "is_exporter", "loan_rate"}
    row = validate_accounts(raw).accounts.row(0, named=True)
    assert (row["annual_bill_yuan"], row["roof_area_m2"], row["loan_rate"]) == (55.5, 120.0, 0.045)


def test_row_with_more_fields_than_the_header_is_rejected(tmp_path):
    text = f"{EN_HEADER}\nA1,Good,Hebei,residential,100\nA2,Bad, Ltd,Hebei,residential,100\n"
    raw = read_customer_file(write(tmp_path, "ragged.csv", text))
    assert SURPLUS_COLUMN in raw.frame.columns
    result = validate_accounts(raw)
    assert result.accounts["account_id"].to_list() == ["A1"]
    reject = result.rejects.row(0, named=True)
    assert reject["row_number"] == 3 and reject["column"] == "(row)"
    assert "more fields than the header" in reject["reason"]


def test_very_wide_row_is_not_truncated(tmp_path):
    text = f"{EN_HEADER}\nA1,N,Hebei,residential,100{',x' * 200}\n"
    result = load_accounts(write(tmp_path, "wide.csv", text))
    assert result.rejects.height == 1 and result.rejects["column"][0] == "(row)"


# --- Excel and Parquet -------------------------------------------------------------------------

def test_xlsx_first_sheet_with_typed_cells(tmp_path):
    path = write_xlsx(tmp_path / "list.xlsx", {
        "客户清单": [["户号", "企业名称", "省份", "用电类别", "年用电量", "高峰占比", "平段占比", "是否上市"],
                 [310012345678, "甲（集团）有限公司", "广东", "大工业", 1234567.5, 0.6, 0.4, True]],
        "说明": [["not", "the", "data"]],
    })
    raw = read_customer_file(path)
    assert raw.format == "excel" and raw.sheet == "客户清单"
    row = validate_accounts(raw).accounts.row(0, named=True)
    assert row["account_id"] == "310012345678"          # a numeric cell, shown as in Excel
    assert (row["annual_kwh"], row["share_peak"], row["share_flat"], row["is_listed"]) == (1234567.5, 0.6, 0.4, True)


def test_xlsx_named_sheet_and_sheet_row_numbers(tmp_path):
    path = write_xlsx(tmp_path / "two.xlsx", {
        "封面": [["2025 客户清单"]],
        "数据": [["account_id", "name", "province", "customer_type", "annual_kwh"],
               ["B1", "N", "Gansu", "residential", 10],
               [None, None, None, None, None],
               ["B2", "M", "Gansu", "residential", "abc"]],
    }, start_row=2)
    result = load_accounts(path, sheet="数据")
    assert result.accounts["row_number"].to_list() == [4]   # header on sheet row 3
    assert result.rejects["row_number"].to_list() == [6]
    assert read_customer_file(path, sheet=1).sheet == "数据"


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", {"A": [["account_id"]], "B": [["x"]]})
    with pytest.raises(InputFileError, match='no sheet named "C"; sheets: A, B'):
        read_customer_file(path, sheet="C")


def test_xlsx_empty_first_sheet(tmp_path):
    path = write_xlsx(tmp_path / "empty.xlsx", {"Sheet1": [], "data": [["x"]]})
    with pytest.raises(InputFileError, match='sheet "Sheet1" is empty; sheets in the file: Sheet1, data'):
        read_customer_file(path)


def test_parquet_with_typed_columns_and_chinese_headers(tmp_path):
    path = tmp_path / "list.parquet"
    pl.DataFrame({
        "户号": [1001, 1002], "客户名称": ["甲", "乙"], "省份": ["Sichuan", "四川省"],
        "用电类别": ["一般工商业", "大工业"], "年用电量": [1.5e6, 2.0e7], "是否出口": [True, None],
        "贷款年限": [10, None], "note": [[1, 2], None],
    }).write_parquet(path)
    raw = read_customer_file(path)
    assert raw.format == "parquet"
    result = validate_accounts(raw)
    assert result.rejects.height == 0
    assert result.accounts["account_id"].to_list() == ["1001", "1002"]
    assert result.accounts["loan_years"].to_list() == [10, None]
    assert result.accounts["row_number"].to_list() == [2, 3]


def test_parquet_nan_is_rejected_not_stored(tmp_path):
    path = tmp_path / "nan.parquet"
    pl.DataFrame({"account_id": ["A", "B"], "name": ["n", "m"], "province": ["Hebei"] * 2,
                  "customer_type": ["residential"] * 2, "annual_kwh": [float("nan"), float("inf")]}).write_parquet(path)
    result = load_accounts(path)
    assert result.accounts.height == 0 and result.rejects.height == 2


# --- files that cannot be read ---------------------------------------------------------------

def assert_unreadable(path, *fragments, sheet=None):
    with pytest.raises(InputFileError) as info:
        read_customer_file(path, sheet)
    message = str(info.value)
    assert message.startswith(f"Cannot read customer file {path}: ")
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_empty_files(tmp_path):
    assert_unreadable(write(tmp_path, "empty.csv", ""), "the file is empty")
    assert_unreadable(write(tmp_path, "spaces.csv", " \n\r\n\t"), "the file is empty")
    path = tmp_path / "bom-only.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"\n")
    assert_unreadable(path, "the file is empty")


def test_binary_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 8)
    assert_unreadable(path, "binary file, not a table")


def test_xlsx_that_is_really_csv(tmp_path):
    path = write(tmp_path, "list.xlsx", f"{EN_HEADER}\nA1,N,Hebei,residential,100\n")
    assert_unreadable(path, "named .xlsx but its content is CSV/plain text, not an Excel workbook", "rename it to .csv")


def test_csv_that_is_really_a_workbook(tmp_path):
    path = write_xlsx(tmp_path / "list.csv", {"S": [["account_id"]]})
    assert_unreadable(path, "named .csv but its content is an Excel workbook")


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert_unreadable(path, "not a readable Excel workbook")


def test_truncated_parquet(tmp_path):
    buf = io.BytesIO()
    pl.DataFrame({"account_id": ["A"]}).write_parquet(buf)
    path = tmp_path / "cut.parquet"
    path.write_bytes(buf.getvalue()[:-20])
    assert_unreadable(path, "incomplete Parquet file")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(f"{EN_HEADER}\nA1,".encode() + b"\xff\xfe\x80\x80" + b",Hebei,residential,1\n")
    assert_unreadable(path, "text encoding is not recognised", "Save it as UTF-8 CSV")


def test_big5_is_refused_rather_than_garbled(tmp_path):
    text = "account_id,name,province,customer_type,annual_kwh\n1,台灣電力股份有限公司,Fujian,residential,1\n"
    assert_unreadable(write(tmp_path, "big5.csv", text, "big5"), "would garble the names")


def test_replacement_characters_are_refused(tmp_path):
    text = f"{EN_HEADER}\nA1,\ufffd\ufffd公司,Hebei,residential,1\n"
    assert_unreadable(write(tmp_path, "mojibake.csv", text), "replacement character", "line 2")


def test_missing_required_column_names_it_and_its_aliases(tmp_path):
    path = write(tmp_path, "missing.csv", "户号,企业名称,省份,用电类别\nA1,N,Hebei,residential\n")
    assert_unreadable(path, "missing required column(s): annual_kwh (e.g. 年用电量", 'Headers found: "户号"')


def test_two_headers_meaning_the_same_column(tmp_path):
    path = write(tmp_path, "dup.csv", f"{EN_HEADER},用户编号\nA1,N,Hebei,residential,1,A1\n")
    assert_unreadable(path, 'columns "account_id" and "用户编号" both mean account_id')


def test_unit_that_would_misread_values(tmp_path):
    path = write(tmp_path, "unit.csv", "户号,企业名称,省份,用电类别,年用电量(万kWh)\nA1,N,Hebei,residential,1\n")
    assert_unreadable(path, 'column "年用电量(万kWh)" is annual_kwh in unit "万kwh", which is not accepted')


def test_text_that_is_not_a_customer_table(tmp_path):
    path = write(tmp_path, "notes.txt", "Meeting notes\nCall the customer on Monday.\n")
    assert_unreadable(path, "no header row found", "First row reads: Meeting notes")


def test_missing_file_and_folder(tmp_path):
    assert_unreadable(tmp_path / "nope.csv", "cannot be opened")
    assert_unreadable(tmp_path, "it is a folder")


def test_sheet_given_for_a_csv(tmp_path):
    path = write(tmp_path, "x.csv", f"{EN_HEADER}\nA1,N,Hebei,residential,1\n")
    assert_unreadable(path, 'a sheet ("S") was given but the file is CSV/plain text', sheet="S")


def test_quote_mark_inside_an_unquoted_value_is_read_literally(tmp_path):
    text = f'{EN_HEADER}\nA1,ab"c,Hebei,residential,1\nA2,x,Hebei,residential,2\n'
    result = load_accounts(write(tmp_path, "midquote.csv", text))
    assert result.accounts["name"].to_list() == ['ab"c', "x"]


def test_unterminated_quote_stops_the_load_naming_the_line(tmp_path):
    text = f'{EN_HEADER}\nA1,N,Hebei,residential,1\nA2,"unterminated,Hebei,residential,1\nA3,x,Hebei,residential,2\n'
    assert_unreadable(write(tmp_path, "open-quote.csv", text), "the record starting at line 3 is broken")


def test_header_only_file_has_no_rows(tmp_path):
    result = load_accounts(write(tmp_path, "header.csv", EN_HEADER + "\n"))
    assert (result.rows_read, result.accounts.height, result.rejects.height) == (0, 0, 0)


def test_parquet_columns_of_any_type_are_read_as_text(tmp_path):
    import datetime
    import decimal

    path = tmp_path / "types.parquet"
    pl.DataFrame({
        "account_id": pl.Series(["a", "b"]).cast(pl.Categorical), "name": ["n", "m"], "province": ["Hebei"] * 2,
        "customer_type": ["residential"] * 2, "annual_kwh": [decimal.Decimal("1234.50"), decimal.Decimal("10")],
        "waited": [datetime.timedelta(days=1), None], "tags": [[1, 2], None], "meta": [{"k": 1}, None],
    }).with_columns(pl.col("tags").cast(pl.Array(pl.Int64, 2))).write_parquet(path)
    raw = read_customer_file(path)
    assert raw.extras["tags"].to_list() == ["[1, 2]", None]
    result = validate_accounts(raw)
    assert result.accounts["annual_kwh"].to_list() == [1234.5, 10.0]
