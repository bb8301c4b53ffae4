"""The standard schemas of the five base libraries (reference definitions, not city data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from citybase.standards.masking import field_mask_kind


@dataclass(frozen=True)
class Attr:
    name: str
    label: str
    data_type: str = "string"
    element: str = "text"
    grading: str = "L1"
    mask: str | None = None  # masking kind when shown (standards.masking.mask_value), else by element/grading

    @property
    def mask_kind(self) -> str | None:
        return self.mask or field_mask_kind(self)


@dataclass(frozen=True)
class Library:
    key: str  # population | legal_person | geo | credit | licence
    name: str
    class_code: str  # 类 1 (基础) + 项 2 + 目 3
    key_attr: Attr
    attrs: tuple[Attr, ...]
    summary: str
    key_kind: str = "text"  # how keys are normalised: cn_id_card | uscc | text
    coverage: tuple[str, ...] = field(default_factory=tuple)  # attributes whose valid share is reported

    @property
    def all_attrs(self) -> tuple[Attr, ...]:
        return (self.key_attr, *self.attrs)


DATE = {"data_type": "date", "element": "date"}

LIBRARIES: dict[str, Library] = {lib.key: lib for lib in [
    Library("population", "人口基础库", "101000",
            Attr("gmsfhm", "公民身份号码", element="cn_id_card", grading="L4"),
            (Attr("xm", "姓名", grading="L3", mask="name"), Attr("xb", "性别", grading="L2"),
             Attr("csrq", "出生日期", grading="L3", **DATE), Attr("mz", "民族", grading="L2"),
             Attr("hjdz", "户籍地址", grading="L3", mask="address"), Attr("hjdqh", "户籍地行政区划代码", element="division_code"),
             Attr("lxdh", "联系电话", element="mobile", grading="L3"), Attr("gzdw", "工作单位"),
             Attr("cbzt", "社保参保状态")),
            "以公民身份号码为唯一标识，汇聚公安户籍、人社参保等部门数据形成的全市人口基础信息。",
            key_kind="cn_id_card", coverage=("xm", "csrq", "hjdz", "lxdh", "cbzt")),
    Library("legal_person", "法人基础库", "102000",
            Attr("tyshxydm", "统一社会信用代码", element="uscc"),
            (Attr("mc", "名称"), Attr("lx", "主体类型"), Attr("fddbr", "法定代表人/负责人", grading="L3", mask="name"),
             Attr("clrq", "成立日期", **DATE), Attr("zt", "登记状态"), Attr("zs", "住所", grading="L2"),
             Attr("xzqh", "住所行政区划代码", element="division_code"), Attr("yzbm", "邮政编码", element="postcode"),
             Attr("djjg", "登记机关"), Attr("nsxydj", "纳税信用等级")),
            "以统一社会信用代码为唯一标识，汇聚市场监管、民政、税务等部门数据形成的法人基础信息。",
            key_kind="uscc", coverage=("mc", "fddbr", "zs", "xzqh", "nsxydj")),
    Library("geo", "自然资源和空间地理基础库", "103000",
            Attr("dzbm", "地址编码"),
            (Attr("bzdz", "标准地址"), Attr("jd", "经度", data_type="decimal"), Attr("wd", "纬度", data_type="decimal"),
             Attr("jdbm", "所属街道代码", element="division_code"), Attr("yzbm", "邮政编码", element="postcode")),
            "全市标准地址、地名及其坐标、所属区和街道。", coverage=("bzdz", "jd", "wd", "jdbm")),
    Library("credit", "社会信用基础库", "104000",
            Attr("xyjlbh", "信用记录编号"),
            (Attr("ztdm", "主体代码（信用代码或身份号码）", grading="L2"), Attr("ztmc", "主体名称"),
             Attr("jllx", "记录类型"), Attr("jlnr", "记录内容"), Attr("jldj", "等级/类别"),
             Attr("jlrq", "记录日期", **DATE), Attr("rdjg", "认定机关")),
            "按统一社会信用代码或公民身份号码归集的行政处罚、纳税信用等信用记录。",
            coverage=("ztdm", "jlrq")),
    Library("licence", "电子证照基础库", "105000",
            Attr("zzbh", "证照编号"),
            (Attr("zzlx", "证照类型"), Attr("czztdm", "持证主体代码", grading="L2"), Attr("czztmc", "持证主体名称"),
             Attr("fzjg", "发证机关"), Attr("fzrq", "发证日期", **DATE), Attr("yxqz", "有效期至", **DATE),
             Attr("zzzt", "证照状态")),
            "各部门签发的电子证照目录：类型、持证主体、编号、发证机关、有效期。",
            coverage=("czztdm", "yxqz")),
]}


def library(key: str) -> Library:
    from citybase.core.errors import NotFound

    if key not in LIBRARIES:
        raise NotFound(f"没有这个基础库：{key}", code="unknown_library", detail={"allowed": list(LIBRARIES)})
    return LIBRARIES[key]
