"""Turn an input file into something DuckDB reads: a UTF-8 CSV path, a Parquet/JSON path, or an
Arrow table. Detects the format and the encoding, reads the header, normalises column names and
refuses bad input with a Chinese message that names the rows (never a 500)."""

from __future__ import annotations

import codecs
import csv
import json
import re
import shutil
import subprocess
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from citybase.config import get_settings
from citybase.core.errors import BadInput, TooLarge
from citybase.lake import duck
from citybase.standards.sql import quote_ident

TRANSCODE_CHUNK = 32 * 1024 * 1024
SNIFF_BYTES = 1024 * 1024

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".parquet": "parquet"}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gbk": "GBK", "gb18030": "GB18030"}

Progress = Callable[[float, str], None]


def _noop(_: float, __: str) -> None:
    return None


@dataclass
class Source:
    """A readable input: ``relation()`` gives DuckDB SQL yielding columns c0..cN as VARCHAR
    (CSV) or native types (others)."""

    kind: str  # csv | arrow | parquet | json
    columns: list[str]  # original header names, in order
    encoding: str = ""
    delimiter: str = ","
    path: Path | None = None  # the file DuckDB reads (a UTF-8 copy for transcoded CSV)
    table: pa.Table | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)

    def relation(self, name: str = "cb_src") -> str:
        """A FROM-clause item whose columns are c0..cN (so duplicate/odd headers never reach SQL)."""
        if self.kind == "csv":
            cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.columns)))
            delim = "\\t" if self.delimiter == "\t" else self.delimiter
            return (f"read_csv({_lit(str(self.path))}, header=true, columns={{{cols}}}, auto_detect=false, "
                    f"delim='{delim}', quote='\"', escape='\"', strict_mode=true, null_padding=false, "
                    f"encoding='utf-8')")
        if self.kind == "arrow":
            return name
        if self.kind == "parquet":
            inner = f"read_parquet({_lit(str(self.path))})"
        elif self.kind == "json":
            inner = f"read_json_auto({_lit(str(self.path))}, format='auto', sample_size=-1)"
        else:  # pragma: no cover
            raise ValueError(self.kind)
        sel = ", ".join(f'{quote_ident(c)} AS c{i}' for i, c in enumerate(self.columns))
        return f"(SELECT {sel} FROM {inner})"

    def cleanup(self) -> None:
        for p in self.temp_files:
            p.unlink(missing_ok=True)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def normalise_name(name: str) -> str:
    """How columns are compared: NFKC (full-width → half-width), trimmed, lower-case, spaces/dashes → _."""
    n = unicodedata.normalize("NFKC", str(name or "")).strip().lower()
    n = re.sub(r"[\s\-./]+", "_", n)
    return n.strip("_")


def check_columns(columns: list[str]) -> list[str]:
    """Refuse empty or colliding column names (after normalisation)."""
    if not columns or all(not str(c).strip() for c in columns):
        raise BadInput("第 1 行表头为空，无法识别列名", code="no_header")
    seen: dict[str, list[int]] = {}
    for i, c in enumerate(columns):
        key = normalise_name(c)
        if not key:
            raise BadInput(f"第 1 行第 {i + 1} 列的列名为空", code="blank_column_name",
                           detail={"column_index": i + 1})
        seen.setdefault(key, []).append(i)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    if clashes:
        parts = [" 与 ".join(f"第{i + 1}列“{columns[i]}”" for i in idx) for idx in clashes.values()]
        raise BadInput("列名规范化后重复：" + "；".join(parts) + "。请修改表头后重试",
                       code="column_name_collision",
                       detail={"collisions": {k: [columns[i] for i in v] for k, v in clashes.items()}})
    return columns


# --------------------------------------------------------------------------- format & encoding

def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    with open(path, "rb") as fh:
        head = fh.read(8)
    if fmt is None:
        if head.startswith(b"PK\x03\x04"):
            return "xlsx"
        if head.startswith(b"PAR1"):
            return "parquet"
        raise BadInput(f"不支持的文件类型“{path.suffix or path.name}”：请上传 CSV、TSV、XLSX、JSON、JSONL 或 Parquet",
                       code="unsupported_format")
    if fmt == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise BadInput("文件扩展名为 .xlsx，但内容不是 Excel 工作簿", code="not_xlsx")
    if fmt == "parquet" and not head.startswith(b"PAR1"):
        raise BadInput("文件扩展名为 .parquet，但内容不是 Parquet 文件", code="not_parquet")
    return fmt


def check_size(path: Path, limit: int | None = None) -> int:
    size = path.stat().st_size
    limit = get_settings().lake_max_input_bytes if limit is None else limit
    if size > limit:
        raise TooLarge(f"文件大小 {_human(size)}，超过单次归集上限 {_human(limit)}；请拆分文件或改用数据库源",
                       code="file_too_large", detail={"size": size, "limit": limit})
    if size == 0:
        raise BadInput("文件为空（0 字节），没有可归集的数据", code="empty_file")
    return size


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    sample = head[:65536]
    if not sample:
        return False
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    return ctrl / len(sample) > 0.01


def _line_of(path: Path, offset: int) -> int:
    """1-based line number of a byte offset (only called on the error path)."""
    count, pos = 0, 0
    with open(path, "rb") as fh:
        while pos < offset:
            buf = fh.read(min(TRANSCODE_CHUNK, offset - pos))
            if not buf:
                break
            count += buf.count(b"\n")
            pos += len(buf)
    return count + 1


def detect_encoding(path: Path, requested: str = "auto") -> str:
    """'utf-8', 'utf-8-sig' or 'gb18030' (GBK is a subset). Refuses binary data."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        raise BadInput("文件为 UTF-16 编码，请另存为 UTF-8 或 GBK 后再上传", code="unsupported_encoding")
    if _looks_binary(head):
        raise BadInput("文件内容不是文本（含二进制数据），无法作为 CSV/TSV 读取；请确认文件类型",
                       code="binary_file")
    if requested and requested != "auto":
        enc = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030",
               "gb18030": "gb18030"}.get(requested.lower())
        if enc is None:
            raise BadInput(f"不支持的编码“{requested}”：可选 auto、utf-8、gbk、gb18030", code="unsupported_encoding")
        if enc == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return enc
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        u_err = exc.start
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        g_err = exc.start
    # Neither decodes the whole sample: text that is valid in one encoding up to a point is mixed.
    if not head[:u_err].isascii():
        line = head[:u_err].count(b"\n") + 1
        raise BadInput(f"第 {line} 行的字节不是 UTF-8 编码，而此前的内容是 UTF-8（文件混用了多种编码），请统一编码后重试",
                       code="mixed_encoding", detail={"line": line, "encoding": "utf-8"})
    if not head[:g_err].isascii():
        line = head[:g_err].count(b"\n") + 1
        raise BadInput(f"第 {line} 行的字节不是 GBK 编码，而此前的内容是 GBK（文件混用了多种编码），请统一编码后重试",
                       code="mixed_encoding", detail={"line": line, "encoding": "gbk"})
    line = head[: max(u_err, g_err)].count(b"\n") + 1
    raise BadInput(f"无法识别文件编码：第 {line} 行既不是 UTF-8 也不是 GBK/GB18030 编码",
                   code="unknown_encoding", detail={"line": line})


def transcode_to_utf8(path: Path, encoding: str, out: Path, progress: Progress = _noop) -> None:
    """Turn a GBK/GB18030 file into UTF-8. Refuses a file mixing encodings: a line that is valid
    UTF-8 with Chinese text inside a GBK file, or bytes GB18030 rejects (both name the line).

    The conversion runs in glibc's ``iconv`` (about twice as fast as Python's codec, and in its
    own process, so it overlaps with the mixed-encoding scan here and the SM3 thread); Python's
    codec is the fallback where ``iconv`` is missing."""
    iconv = shutil.which("iconv")
    if iconv is None:
        _transcode_python(path, encoding, out, progress)
        return
    with open(path, "rb") as src, open(out, "wb") as dst:
        proc = subprocess.Popen([iconv, "-f", "GB18030", "-t", "UTF-8"], stdin=src, stdout=dst,
                                stderr=subprocess.PIPE)
        try:
            _scan_for_utf8_lines(path, progress)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        _, err = proc.communicate()
    if proc.returncode != 0:
        m = re.search(rb"position (\d+)", err or b"")
        offset = int(m.group(1)) if m else path.stat().st_size
        line = _line_of(path, offset)
        raise BadInput(f"第 {line} 行的字节不是 {ENCODING_LABELS.get(encoding, encoding)} 编码"
                       "（文件可能混用了多种编码），请统一编码后重试",
                       code="mixed_encoding", detail={"line": line, "encoding": encoding})


def _scan_for_utf8_lines(path: Path, progress: Progress) -> None:
    total = max(1, path.stat().st_size)
    done = lines_before = 0
    with open(path, "rb") as src:
        while buf := src.read(TRANSCODE_CHUNK):
            if not buf.isascii():
                _refuse_utf8_inside_gbk(buf, lines_before)
            lines_before += buf.count(b"\n")
            done += len(buf)
            progress(done / total, "转换编码")


def _transcode_python(path: Path, encoding: str, out: Path, progress: Progress) -> None:
    total = max(1, path.stat().st_size)
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    lines_before = 0
    with open(path, "rb") as src, open(out, "wb") as dst:
        while True:
            buf = src.read(TRANSCODE_CHUNK)
            final = not buf
            try:
                text = decoder.decode(buf, final=final)
            except UnicodeDecodeError as exc:
                line = lines_before + buf[: exc.start].count(b"\n") + 1
                raise BadInput(f"第 {line} 行的字节不是 {ENCODING_LABELS.get(encoding, encoding)} 编码"
                               "（文件可能混用了多种编码），请统一编码后重试",
                               code="mixed_encoding", detail={"line": line, "encoding": encoding}) from None
            if buf and not buf.isascii():
                _refuse_utf8_inside_gbk(buf, lines_before)
            dst.write(text.encode("utf-8"))
            if final:
                break
            lines_before += buf.count(b"\n")
            done += len(buf)
            progress(done / total, "转换编码")


_BYTE_CLASS = bytes(ord("L") if 0xE4 <= i <= 0xE9 else ord("C") if 0x80 <= i <= 0xBF else ord(".")
                    for i in range(256))


def _utf8_cjk_runs(buf: bytes) -> list[int]:
    """Offsets where three UTF-8 CJK sequences ([E4–E9][80–BF][80–BF]) follow each other. Bytes are
    mapped to classes with ``bytes.translate`` and the run found with ``bytes.find`` — both C
    loops; a bytes regex over a 32 MB GBK chunk takes most of a second."""
    classes = buf.translate(_BYTE_CLASS)
    out: list[int] = []
    pos = classes.find(b"LCCLCCLCC")
    while pos >= 0:
        out.append(pos)
        end = buf.find(b"\n", pos)
        if end < 0:
            break
        pos = classes.find(b"LCCLCCLCC", end)
    return out


def _refuse_utf8_inside_gbk(buf: bytes, lines_before: int) -> None:
    """Three consecutive UTF-8 CJK sequences on a line that as a whole is valid UTF-8 is all but
    impossible in GBK text: that line was written in UTF-8."""
    checked_until = -1
    for pos in _utf8_cjk_runs(buf):
        if pos <= checked_until:
            continue
        start = buf.rfind(b"\n", 0, pos) + 1
        end = buf.find(b"\n", pos)
        end = end if end >= 0 else len(buf)
        checked_until = end
        try:
            buf[start:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        line = lines_before + buf[:start].count(b"\n") + 1
        raise BadInput(f"第 {line} 行是 UTF-8 编码，而文件其余部分是 GBK 编码（文件混用了多种编码），请统一编码后重试",
                       code="mixed_encoding", detail={"line": line})


def _sniff_delimiter(first_line: str, fmt: str) -> str:
    if fmt == "tsv":
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_header_text(path: Path, encoding: str) -> list[str]:
    with open(path, "rb") as fh:
        raw = fh.read(SNIFF_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=False)
    return text.splitlines()[:6]


# --------------------------------------------------------------------------- open a source

def open_source(path: Path, *, encoding: str = "auto", sheet: str | None = None, work_dir: Path,
                progress: Progress = _noop, hasher: Any = None, size_limit: int | None = None) -> Source:
    """Read enough of ``path`` to know its columns; transcode non-UTF-8 text into ``work_dir``.
    When ``hasher`` is given, every byte of the input is fed to it exactly once."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"找不到文件：{path}", code="file_not_found")
    check_size(path, size_limit)
    fmt = detect_format(path)
    if fmt in ("csv", "tsv"):
        return _open_csv(path, fmt, encoding, work_dir, progress, hasher)
    _hash_file(path, hasher)
    if fmt == "xlsx":
        return _open_xlsx(path, sheet)
    if fmt == "parquet":
        return _open_parquet(path)
    return _open_json(path, fmt, work_dir)


def _hash_file(path: Path, hasher: Any) -> None:
    if hasher is None:
        return
    if hasattr(hasher, "update_from_file"):  # hashes in the background
        hasher.update_from_file(path)
        return
    with open(path, "rb") as fh:
        while buf := fh.read(TRANSCODE_CHUNK):
            hasher.update(buf)


def _open_csv(path: Path, fmt: str, encoding: str, work_dir: Path, progress: Progress, hasher: Any) -> Source:
    enc = detect_encoding(path, encoding)
    lines = _read_header_text(path, enc)
    if not lines or not lines[0].strip():
        raise BadInput("第 1 行表头为空，无法识别列名", code="no_header")
    delim = _sniff_delimiter(lines[0], fmt)
    header = next(csv.reader([lines[0].lstrip("\ufeff")], delimiter=delim))
    header = [h.strip() for h in header]
    check_columns(header)
    # (a longer file is confirmed while staging: no rows → header_only there)
    no_rows = len(lines) < 2 or not any(line.strip() for line in lines[1:])
    if no_rows and path.stat().st_size <= SNIFF_BYTES:
        raise BadInput("文件只有表头，没有数据行", code="header_only")
    src = Source(kind="csv", columns=header, encoding=enc, delimiter=delim, path=path)
    _hash_file(path, hasher)  # the original bytes, whatever happens to them next
    if enc == "gb18030":
        out = work_dir / "input.utf8.csv"
        transcode_to_utf8(path, enc, out, progress)
        src.path = out
        src.temp_files.append(out)
        src.encoding = "gbk"
    return src


def _open_parquet(path: Path) -> Source:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise BadInput(f"无法读取 Parquet 文件：{exc}", code="bad_parquet") from None
    cols = list(schema.names)
    check_columns(cols)
    return Source(kind="parquet", columns=cols, path=path, encoding="binary")


def _open_json(path: Path, fmt: str, work_dir: Path) -> Source:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if _looks_binary(head):
        raise BadInput("文件内容不是文本（含二进制数据），无法作为 JSON 读取", code="binary_file")
    try:
        if fmt == "jsonl":
            rows = []
            with open(path, encoding="utf-8-sig") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        obj = json.loads(line)
                        if not isinstance(obj, dict):
                            raise BadInput(f"第 {n} 行不是 JSON 对象", code="bad_json", detail={"line": n})
                        rows.append(obj)
        else:
            with open(path, encoding="utf-8-sig") as fh:
                data = json.load(fh)
            if isinstance(data, dict):
                data = next((v for v in data.values() if isinstance(v, list)), None)
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise BadInput("JSON 文件应为对象数组（[{...}, {...}]）", code="bad_json")
            rows = data
    except json.JSONDecodeError as exc:
        raise BadInput(f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列附近 {exc.msg}", code="bad_json",
                       detail={"line": exc.lineno}) from None
    except UnicodeDecodeError:
        raise BadInput("JSON 文件必须为 UTF-8 编码", code="bad_encoding") from None
    if not rows:
        raise BadInput("文件中没有数据记录", code="header_only")
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    check_columns(columns)
    arrays = [pa.array([_cell_text(r.get(c)) for r in rows], type=pa.string()) for c in columns]
    table = pa.table(arrays, names=[f"c{i}" for i in range(len(columns))])
    return Source(kind="arrow", columns=columns, table=table, encoding="utf-8")


def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        text = v.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    s = str(v)
    return s if s.strip() != "" else None


# --------------------------------------------------------------------------- XLSX

def check_zip(path: Path) -> None:
    """Refuse zip bombs before any XML parser sees the workbook."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise BadInput("文件扩展名为 .xlsx，但内容不是有效的 Excel 工作簿", code="not_xlsx") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    settings = get_settings()
    if total > settings.lake_xlsx_max_uncompressed or (total > 10 * 1024**2
                                                       and total / packed > settings.lake_xlsx_max_ratio):
        raise TooLarge(f"Excel 文件解压后达 {_human(total)}（压缩比 {total / packed:.0f}:1），疑似压缩炸弹，已拒绝",
                       code="zip_bomb", detail={"uncompressed": total, "compressed": packed})
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise BadInput("文件不是 Excel 工作簿（缺少 xl/workbook.xml）", code="not_xlsx")


def _open_xlsx(path: Path, sheet: str | None) -> Source:
    import openpyxl

    limit = get_settings().lake_xlsx_max_bytes
    if path.stat().st_size > limit:
        raise TooLarge(f"Excel 文件超过 {_human(limit)}，请另存为 CSV 后上传", code="xlsx_too_large")
    check_zip(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise BadInput(f"无法读取 Excel 工作簿：{exc}", code="bad_xlsx") from None
    sheets = list(wb.sheetnames)
    if sheet:
        if sheet not in sheets:
            raise BadInput(f"工作簿中没有名为“{sheet}”的工作表；现有：{'、'.join(sheets)}", code="unknown_sheet",
                           detail={"sheets": sheets})
        ws = wb[sheet]
    else:
        ws = wb[sheets[0]]
    warnings: list[dict[str, Any]] = []
    for rng in list(ws.merged_cells.ranges):
        min_col, min_row, max_col, max_row = rng.min_col, rng.min_row, rng.max_col, rng.max_row
        value = ws.cell(row=min_row, column=min_col).value
        ws.unmerge_cells(str(rng))
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                ws.cell(row=r, column=c).value = value
        if min_row == 1:
            raise BadInput(f"表头含合并单元格 {rng.coord}，无法确定列名；请取消合并后重试",
                           code="merged_header", detail={"range": rng.coord})
        warnings.append({"code": "merged_cells", "rows": list(range(min_row, max_row + 1)),
                         "message": f"第 {min_row}–{max_row} 行 {rng.coord} 为合并单元格，已按左上角的值填充到每一行"})
    rows_iter = ws.iter_rows(values_only=True)
    header_row = next(rows_iter, None)
    if header_row is None:
        raise BadInput(f"工作表“{ws.title}”为空", code="empty_file")
    width = len(header_row)
    while width and (header_row[width - 1] is None or str(header_row[width - 1]).strip() == ""):
        width -= 1
    header = [str(h).strip() if h is not None else "" for h in header_row[:width]]
    check_columns(header)
    data: list[list[str | None]] = [[] for _ in header]
    n = 0
    ragged: list[int] = []
    for rownum, row in enumerate(rows_iter, start=2):
        if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        if len(row) > width and any(v is not None and str(v).strip() for v in row[width:]):
            ragged.append(rownum)
        for i in range(width):
            data[i].append(_cell_text(row[i]) if i < len(row) else None)
        n += 1
    wb.close()
    if ragged:
        shown = "、".join(str(r) for r in ragged[:20])
        raise BadInput(f"第 {shown} 行的单元格超出表头列数（缺少列名），请补全表头后重试", code="ragged_rows",
                       detail={"rows": ragged[:100]})
    if n == 0:
        raise BadInput("工作表只有表头，没有数据行", code="header_only")
    table = pa.table([pa.array(col, type=pa.string()) for col in data], names=[f"c{i}" for i in range(width)])
    return Source(kind="arrow", columns=header, table=table, encoding="xlsx", warnings=warnings, sheets=sheets)


def preview_rows(source: Source, con: Any, limit: int = 8) -> list[list[Any]]:
    if source.kind == "arrow":
        con.register("cb_src", source.table)
    rel = source.relation()
    rows = con.execute(f"SELECT * FROM {rel} LIMIT {int(limit)}").fetchall()
    return [[None if v is None else str(v) for v in r] for r in rows]


def csv_error_rows(_con: Any, source: Source, limit: int = 20) -> list[dict[str, Any]]:
    """Second look at a CSV DuckDB refused: every rejected line with its reason. Uses a fresh
    connection (DuckDB does not create its reject tables on a connection that saw the failure)."""
    con = duck.connect(macros=False)
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(source.columns)))
    delim = "\\t" if source.delimiter == "\t" else source.delimiter
    try:
        con.execute(f"SELECT count(*) FROM read_csv({_lit(str(source.path))}, header=true, columns={{{cols}}}, "
                    f"auto_detect=false, delim='{delim}', quote='\"', escape='\"', strict_mode=true, "
                    "store_rejects=true, ignore_errors=true)").fetchall()
        rows = con.execute(f"SELECT line, error_type, csv_line FROM reject_errors ORDER BY line LIMIT {limit * 4}").fetchall()
    except Exception:  # noqa: BLE001 - best effort: the caller already has the first error
        return []
    finally:
        con.close()
    out: list[dict[str, Any]] = []
    for r in rows:  # DuckDB reports one reject per missing column: keep one per line
        if not out or out[-1]["line"] != int(r[0]):
            out.append({"line": int(r[0]), "type": str(r[1]), "text": str(r[2])[:200]})
    return out
