"""Demo catalogue: realistic Wuxi department resources, published directly (idempotent).

Codes are fixed so other modules' demos can ingest data into them:

    101001-0001 户籍人口信息 (市公安局)          102001-0001 市场主体登记信息 (市市场监管局)
    303001-0001 社会保险参保人员信息 (市人社局)  202001-0001 地表水水质自动监测数据 (市生态环境局)
    201001-0001 城市部件信息 (市城管局)          … see DEMO_RESOURCES
"""

from __future__ import annotations

from typing import Any

from citybase.catalog import service
from citybase.catalog.schemas import FieldIn, ResourceIn
from citybase.config import get_settings
from citybase.core.errors import NotFound
from citybase.core.identity import service as identity
from citybase.core.identity.principal import SYSTEM
from citybase.db import session_scope


def F(name: str, label: str, data_type: str = "string", element: str = "text", grading: str = "L1",
      nullable: bool = True, key: bool = False, enum: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "label": label, "data_type": data_type, "element": element, "grading": grading,
            "nullable": nullable and not key, "is_key": key, "enum_values": enum or []}


ID = dict(element="cn_id_card", grading="L4")
NAME = dict(grading="L3")
PHONE = dict(element="mobile", grading="L3")
ADDR = dict(grading="L3")
USCC = dict(element="uscc", grading="L1")
DIV = dict(element="division_code", grading="L1")
DATE = dict(data_type="date", element="date")
GENDER = ["男", "女"]
COND_GOV = "仅限政务部门履行法定职责使用，经大数据管理局审核后通过共享交换平台按需获取，个人敏感字段脱敏"

# (code, key of the providing department, resource fields, 信息项)
DEMO_RESOURCES: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    ("101001-0001", "gaj", dict(
        name="户籍人口信息", class_name="人口/人口基本信息", format="数据库表",
        summary="全市户籍人口的身份、户籍地址和联系方式，是人口基础库的权威来源。",
        share_type="有条件共享", share_condition=COND_GOV, share_method="接口调用；库表交换",
        open_type="不予开放", update_cycle="每日", keywords=["户口", "人口", "身份核验", "户籍"]), [
        F("gmsfhm", "公民身份号码", key=True, **ID), F("xm", "姓名", nullable=False, **NAME),
        F("xb", "性别", element="enum", enum=GENDER, grading="L2"),
        F("csrq", "出生日期", grading="L3", **DATE), F("mz", "民族", grading="L2"),
        F("hjdz", "户籍地址", **ADDR), F("hjdqh", "户籍地行政区划代码", **DIV),
        F("lxdh", "联系电话", **PHONE), F("hklb", "户口类别", element="enum", enum=["家庭户", "集体户"]),
        F("djrq", "登记日期", **DATE)]),
    ("101002-0001", "gaj", dict(
        name="人口户籍迁入迁出登记", class_name="人口/人口户籍变动", format="数据库表",
        summary="户籍迁入、迁出和户口注销登记记录。", share_type="有条件共享", share_condition=COND_GOV,
        share_method="库表交换", open_type="不予开放", update_cycle="每日", keywords=["迁移", "落户"]), [
        F("ywlsh", "业务流水号", key=True), F("gmsfhm", "公民身份号码", nullable=False, **ID),
        F("xm", "姓名", **NAME), F("bdlx", "变动类型", element="enum", enum=["迁入", "迁出", "注销"]),
        F("qcdz", "迁出地址", **ADDR), F("qrdz", "迁入地址", **ADDR), F("bdrq", "变动日期", **DATE)]),
    ("102001-0001", "scjgj", dict(
        name="市场主体登记信息", class_name="法人/企业登记信息", format="数据库表",
        summary="全市企业、个体工商户和农民专业合作社的登记信息，是法人基础库的权威来源。",
        share_type="无条件共享", share_method="接口调用；库表交换", open_type="有条件开放",
        open_condition="法定代表人身份信息不开放，经开放平台申请后以接口方式获取", update_cycle="每日",
        keywords=["企业", "工商登记", "营业执照", "法人"]), [
        F("tyshxydm", "统一社会信用代码", key=True, **USCC), F("qymc", "企业名称", nullable=False),
        F("qylx", "市场主体类型", element="enum", enum=["有限责任公司", "股份有限公司", "个人独资企业", "合伙企业",
                                                          "个体工商户", "农民专业合作社"]),
        F("fddbr", "法定代表人", **NAME), F("fddbrsfzh", "法定代表人身份证号", **ID),
        F("zczb", "注册资本（万元）", data_type="decimal"), F("clrq", "成立日期", **DATE),
        F("djzt", "登记状态", element="enum", enum=["存续", "在业", "吊销", "注销", "迁出"]),
        F("zs", "住所", grading="L2"), F("xzqh", "住所行政区划代码", **DIV),
        F("yzbm", "邮政编码", element="postcode"), F("jyfw", "经营范围"), F("djjg", "登记机关")]),
    ("102002-0001", "mzj", dict(
        name="社会组织登记信息", class_name="法人/社会组织登记信息", format="数据库表",
        summary="社会团体、民办非企业单位和基金会的登记信息。", share_type="无条件共享",
        share_method="接口调用", open_type="无条件开放", update_cycle="每月", keywords=["社团", "民非", "基金会"]), [
        F("tyshxydm", "统一社会信用代码", key=True, **USCC), F("zzmc", "社会组织名称", nullable=False),
        F("zzlx", "组织类型", element="enum", enum=["社会团体", "民办非企业单位", "基金会"]),
        F("ywzgdw", "业务主管单位"), F("clrq", "成立登记日期", **DATE), F("zs", "住所"),
        F("xzqh", "登记管理机关区划", **DIV)]),
    ("303001-0001", "rsj", dict(
        name="社会保险参保人员信息", class_name="人力资源和社会保障/社会保险", format="数据库表",
        summary="职工养老、失业、工伤保险参保人员及参保状态。", share_type="有条件共享", share_condition=COND_GOV,
        share_method="接口调用", open_type="不予开放", update_cycle="每月", keywords=["社保", "参保", "养老保险"]), [
        F("gmsfhm", "公民身份号码", key=True, **ID), F("xm", "姓名", nullable=False, **NAME),
        F("dwtyshxydm", "参保单位统一社会信用代码", **USCC), F("dwmc", "参保单位名称"),
        F("xzlx", "险种类型", element="enum", enum=["企业职工基本养老保险", "失业保险", "工伤保险"]),
        F("cbzt", "参保状态", element="enum", enum=["正常参保", "暂停缴费", "终止参保"]),
        F("cbrq", "参保日期", **DATE), F("lxdh", "联系电话", **PHONE), F("jfjs", "缴费基数（元）", data_type="decimal", grading="L3")]),
    ("202001-0001", "sthjj", dict(
        name="地表水水质自动监测数据", class_name="生态环境/水环境", format="数据库表",
        summary="太湖及主要河流国省控断面水质自动监测站的小时监测数据。", share_type="无条件共享",
        share_method="接口调用；文件下载", open_type="无条件开放", update_cycle="实时",
        keywords=["水质", "太湖", "断面", "监测"]), [
        F("zdbm", "监测站编码", key=True), F("jcsj", "监测时间", data_type="datetime", key=True),
        F("zdmc", "监测站名称", nullable=False), F("ph", "pH", data_type="decimal"),
        F("rjy", "溶解氧（mg/L）", data_type="decimal"), F("gmsyzs", "高锰酸盐指数（mg/L）", data_type="decimal"),
        F("ad", "氨氮（mg/L）", data_type="decimal"), F("zl", "总磷（mg/L）", data_type="decimal"),
        F("szlb", "水质类别", element="enum", enum=["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"]),
        F("xzqh", "所在行政区划", **DIV)]),
    ("201001-0001", "cgj", dict(
        name="城市部件信息", class_name="城市管理/城市部件", format="数据库表",
        summary="井盖、路灯、垃圾箱、消防栓等城市部件的普查信息和坐标，支撑一网统管事件定位。",
        share_type="无条件共享", share_method="接口调用；库表交换", open_type="有条件开放",
        open_condition="坐标精度降至 10 米后开放", update_cycle="每月", keywords=["部件", "井盖", "路灯", "数字城管"]), [
        F("bjbm", "部件编码", key=True), F("bjlx", "部件类型", nullable=False, element="enum",
                                             enum=["上水井盖", "污水井盖", "雨水井盖", "路灯", "垃圾箱", "消防栓", "交通信号灯"]),
        F("bjmc", "部件名称"), F("qsdw", "权属单位"), F("yhdw", "养护单位"),
        F("jd", "经度", data_type="decimal"), F("wd", "纬度", data_type="decimal"),
        F("jdbm", "所在街道代码", **DIV), F("zt", "部件状态", element="enum", enum=["完好", "破损", "丢失", "占用"]),
        F("pcrq", "普查日期", **DATE)]),
    ("103001-0001", "zrzyghj", dict(
        name="不动产登记信息", class_name="自然资源和空间地理/不动产登记", format="数据库表",
        summary="不动产单元、权利人及权属状态。", share_type="有条件共享",
        share_condition="仅限政务部门办理法定业务时依申请查询，按不动产单元号或权利人证件号精确核验",
        share_method="接口调用", open_type="不予开放", update_cycle="每日", keywords=["房产", "不动产", "产权"]), [
        F("bdcdyh", "不动产单元号", key=True), F("qlr", "权利人", nullable=False, **NAME),
        F("qlrzjh", "权利人证件号码", **ID), F("zl", "坐落", **ADDR),
        F("mj", "面积（平方米）", data_type="decimal"), F("yt", "用途", element="enum", enum=["住宅", "商业", "办公", "工业"]),
        F("djsj", "登记时间", data_type="datetime"), F("xzqh", "所在区划", **DIV)]),
    ("103002-0001", "zrzyghj", dict(
        name="标准地名地址", class_name="自然资源和空间地理/地名地址", format="数据库表",
        summary="全市标准地址（门楼牌）及其坐标，用于地址匹配和空间定位。", share_type="无条件共享",
        share_method="接口调用；文件下载", open_type="无条件开放", update_cycle="每季度", keywords=["地址", "门牌", "坐标"]), [
        F("dzbm", "地址编码", key=True), F("bzdz", "标准地址", nullable=False),
        F("jlx", "街路巷"), F("mph", "门牌号"), F("jd", "经度", data_type="decimal"),
        F("wd", "纬度", data_type="decimal"), F("jdbm", "所属街道代码", **DIV), F("yzbm", "邮政编码", element="postcode")]),
    ("104001-0001", "fgw", dict(
        name="行政处罚信用信息", class_name="社会信用/行政处罚信息", format="数据库表",
        summary="各部门报送的行政处罚决定，按“双公示”要求向社会公开。", share_type="无条件共享",
        share_method="接口调用", open_type="无条件开放", update_cycle="每日", keywords=["双公示", "处罚", "信用"]), [
        F("cfjdsh", "行政处罚决定书文号", key=True), F("xdrmc", "行政相对人名称", nullable=False),
        F("tyshxydm", "统一社会信用代码", **USCC), F("cfsy", "处罚事由"),
        F("cflb", "处罚类别", element="enum", enum=["警告", "罚款", "没收违法所得", "责令停产停业", "暂扣或吊销许可证"]),
        F("fkje", "罚款金额（万元）", data_type="decimal"), F("cfjdrq", "处罚决定日期", **DATE), F("cfjg", "处罚机关")]),
    ("104002-0001", "swj", dict(
        name="纳税信用等级评价结果", class_name="社会信用/纳税信用", format="电子表格",
        summary="企业纳税信用年度评价结果（A 级名单向社会公开）。", share_type="有条件共享",
        share_condition="仅用于信用评价、招投标和行政审批中的信用核查", share_method="库表交换",
        open_type="有条件开放", open_condition="仅开放 A 级纳税人名单", update_cycle="每年", keywords=["纳税", "信用等级"]), [
        F("tyshxydm", "统一社会信用代码", key=True, **USCC), F("nsrmc", "纳税人名称", nullable=False),
        F("pjnd", "评价年度", data_type="integer", key=True),
        F("xydj", "信用等级", element="enum", enum=["A", "B", "M", "C", "D"])]),
    ("105001-0001", "xzspj", dict(
        name="营业执照电子证照", class_name="电子证照/营业执照", format="数据库表",
        summary="市场主体营业执照电子证照目录信息及照面信息。", share_type="无条件共享",
        share_method="接口调用", open_type="不予开放", update_cycle="实时", keywords=["电子证照", "营业执照"]), [
        F("zzbh", "证照编号", key=True), F("tyshxydm", "统一社会信用代码", nullable=False, **USCC),
        F("czztmc", "持证主体名称"), F("fzjg", "发证机关"), F("fzrq", "发证日期", **DATE),
        F("yxqz", "有效期至", **DATE), F("zzzt", "证照状态", element="enum", enum=["有效", "注销", "吊销"])]),
    ("105002-0001", "mzj", dict(
        name="婚姻登记信息", class_name="电子证照/婚姻登记证照", format="数据库表",
        summary="结婚、离婚登记信息，用于婚姻状况核验。", share_type="有条件共享",
        share_condition="仅限办理户籍、住房、社会救助等业务时核验婚姻状况", share_method="接口调用",
        open_type="不予开放", update_cycle="每日", keywords=["结婚", "离婚", "婚姻状况"]), [
        F("djzh", "登记证字号", key=True), F("ywlx", "业务类型", element="enum", enum=["结婚登记", "离婚登记", "补发"]),
        F("nfxm", "男方姓名", **NAME), F("nfsfzh", "男方身份证号", **ID), F("nvfxm", "女方姓名", **NAME),
        F("nvfsfzh", "女方身份证号", **ID), F("djrq", "登记日期", **DATE), F("djjg", "登记机关")]),
    ("306001-0001", "mzj", dict(
        name="最低生活保障对象信息", class_name="民政/社会救助", format="数据库表",
        summary="城乡低保家庭及成员，按月发放。", share_type="有条件共享",
        share_condition="仅限社会救助、医疗救助和教育资助业务核对使用", share_method="库表交换",
        open_type="不予开放", update_cycle="每月", keywords=["低保", "社会救助", "困难群众"]), [
        F("gmsfhm", "公民身份号码", key=True, **ID), F("xm", "姓名", nullable=False, **NAME),
        F("jtdz", "家庭住址", **ADDR), F("lxdh", "联系电话", **PHONE),
        F("jzlb", "救助类别", element="enum", enum=["城市低保", "农村低保", "特困供养"]),
        F("yffje", "月发放金额（元）", data_type="decimal", grading="L3"), F("jdbm", "所在街道代码", **DIV)]),
    ("307001-0001", "wjw", dict(
        name="出生医学证明信息", class_name="卫生健康/出生医学证明", format="数据库表",
        summary="全市助产机构签发的出生医学证明。", share_type="有条件共享",
        share_condition="仅限办理新生儿落户、医保参保和预防接种", share_method="接口调用",
        open_type="不予开放", update_cycle="每日", keywords=["出生证", "新生儿"]), [
        F("csyxzmbh", "出生医学证明编号", key=True), F("xsexm", "新生儿姓名", **NAME),
        F("xb", "性别", element="enum", enum=GENDER, grading="L2"),
        F("cssj", "出生时间", data_type="datetime", grading="L3"), F("mqxm", "母亲姓名", **NAME),
        F("mqsfzh", "母亲身份证号", **ID), F("fqsfzh", "父亲身份证号", **ID), F("zcjg", "助产机构")]),
    ("317001-0001", "ybj", dict(
        name="基本医疗保险参保信息", class_name="医疗保障/参保登记", format="数据库表",
        summary="职工医保和城乡居民医保参保登记信息。", share_type="有条件共享", share_condition=COND_GOV,
        share_method="接口调用", open_type="不予开放", update_cycle="每月", keywords=["医保", "参保"]), [
        F("gmsfhm", "公民身份号码", key=True, **ID), F("xm", "姓名", **NAME),
        F("xzlx", "险种", element="enum", enum=["职工基本医疗保险", "城乡居民基本医疗保险"]),
        F("cbzt", "参保状态", element="enum", enum=["参保缴费", "暂停", "终止"]), F("cbrq", "参保日期", **DATE),
        F("lxdh", "联系电话", **PHONE)]),
    ("310001-0001", "jtysj", dict(
        name="公交线路及站点信息", class_name="交通运输/公共交通", format="电子表格",
        summary="常规公交线路、站点名称、站序和坐标。", share_type="无条件共享",
        share_method="文件下载；接口调用", open_type="无条件开放", update_cycle="每月", keywords=["公交", "站点", "线路"]), [
        F("xlbh", "线路编号", key=True), F("zx", "站序", data_type="integer", key=True), F("xlmc", "线路名称"),
        F("zdmc", "站点名称", nullable=False), F("jd", "经度", data_type="decimal"), F("wd", "纬度", data_type="decimal"),
        F("sfkt", "是否空调车", data_type="boolean")]),
    ("311001-0001", "slj", dict(
        name="河道水位监测数据", class_name="水利/水文监测", format="接口",
        summary="主要河道和闸站的实时水位、警戒水位。", share_type="无条件共享", share_method="接口调用",
        open_type="无条件开放", update_cycle="实时", keywords=["水位", "防汛", "河道"]), [
        F("czbm", "测站编码", key=True), F("jcsj", "监测时间", data_type="datetime", key=True), F("czmc", "测站名称"),
        F("sw", "水位（米）", data_type="decimal"), F("jjsw", "警戒水位（米）", data_type="decimal"),
        F("xzqh", "所在区划", **DIV)]),
    ("312001-0001", "jyj", dict(
        name="中小学校基本信息", class_name="教育/学校", format="电子表格",
        summary="全市中小学、幼儿园的办学信息和学区。", share_type="无条件共享", share_method="文件下载",
        open_type="无条件开放", update_cycle="每年", keywords=["学校", "学区", "幼儿园"]), [
        F("xxbsm", "学校标识码", key=True), F("xxmc", "学校名称", nullable=False),
        F("bxlx", "办学类型", element="enum", enum=["幼儿园", "小学", "初级中学", "九年一贯制学校", "高级中学"]),
        F("xxdz", "学校地址"), F("lxdh", "办公电话"), F("xzqh", "所在区划", **DIV), F("yzbm", "邮政编码", element="postcode")]),
    ("313001-0001", "yjj", dict(
        name="危险化学品重点企业信息", class_name="应急管理/安全生产", format="数据库表",
        summary="危险化学品生产、储存和使用重点监管企业及其重大危险源。", share_type="有条件共享",
        share_condition="仅限应急、消防、生态环境和属地街道用于安全监管和应急处置", share_method="库表交换",
        open_type="不予开放", update_cycle="每季度", keywords=["危化品", "重大危险源", "安全生产"]), [
        F("tyshxydm", "统一社会信用代码", key=True, **USCC), F("qymc", "企业名称"),
        F("wxydj", "重大危险源等级", element="enum", enum=["一级", "二级", "三级", "四级"]),
        F("aqfzr", "安全负责人", **NAME), F("aqfzrdh", "安全负责人电话", **PHONE),
        F("jd", "经度", data_type="decimal"), F("wd", "纬度", data_type="decimal"), F("jdbm", "所在街道代码", **DIV)]),
    ("309001-0001", "zjj", dict(
        name="在建工程项目信息", class_name="住房和城乡建设/工程建设", format="数据库表",
        summary="房屋建筑和市政基础设施在建项目、施工许可和参建单位。", share_type="无条件共享",
        share_method="接口调用", open_type="有条件开放", open_condition="项目负责人信息不开放",
        update_cycle="每周", keywords=["工地", "施工许可", "建筑"]), [
        F("xmbm", "项目编码", key=True), F("xmmc", "项目名称"), F("sgxkzh", "施工许可证号"),
        F("jsdw", "建设单位统一社会信用代码", **USCC), F("sgdw", "施工单位统一社会信用代码", **USCC),
        F("xmfzr", "项目负责人", **NAME), F("kgrq", "开工日期", **DATE), F("xmdz", "项目地址"),
        F("xzqh", "所在区划", **DIV)]),
    ("314001-0001", "sfj", dict(
        name="社区矫正对象信息", class_name="司法行政/社区矫正", format="数据库表",
        summary="社区矫正对象的身份和矫正期限。", share_type="不予共享",
        share_basis="《中华人民共和国社区矫正法》第四条：社区矫正对象的身份信息和个人隐私应当保密；仅由司法行政机关依法使用",
        share_method="", open_type="不予开放", update_cycle="每日", keywords=["矫正"]), [
        F("gmsfhm", "公民身份号码", key=True, **ID), F("xm", "姓名", **NAME), F("jzqx", "矫正期限"),
        F("jzksrq", "矫正开始日期", **DATE), F("jzjsrq", "矫正结束日期", **DATE), F("jzdz", "居住地址", **ADDR)]),
    ("316001-0001", "tjj", dict(
        name="规模以上工业企业主要指标", class_name="统计/工业统计", format="电子表格",
        summary="分区县规模以上工业总产值、增加值增速和利润等月度指标（汇总数据，不含单个企业）。",
        share_type="无条件共享", share_method="文件下载", open_type="无条件开放", update_cycle="每月",
        keywords=["工业", "统计", "产值"]), [
        F("tjyf", "统计月份", key=True), F("xzqh", "区划代码", key=True, **DIV),
        F("gyzcz", "工业总产值（亿元）", data_type="decimal"), F("zjzzs", "增加值增速（%）", data_type="decimal"),
        F("lrze", "利润总额（亿元）", data_type="decimal")]),
    ("316002-0001", "tjj", dict(
        name="各区户籍人口统计", class_name="统计/人口统计", format="电子表格",
        summary="按区县汇总的户籍人口数、性别和年龄结构（由人口基础信息汇总生成，不含任何个人信息）。",
        share_type="无条件共享", share_method="文件下载", open_type="无条件开放", update_cycle="每月",
        keywords=["人口", "户籍人口", "人口统计", "年龄结构"]), [
        F("tjrq", "统计日期", key=True, **DATE), F("xzqh", "区划代码", key=True, **DIV), F("qmc", "区县名称"),
        F("hjrk", "户籍人口（人）", data_type="integer"), F("nx", "男性（人）", data_type="integer"),
        F("nvx", "女性（人）", data_type="integer"), F("sn", "0-17岁（人）", data_type="integer"),
        F("ln", "18-59岁（人）", data_type="integer"), F("lnr", "60岁及以上（人）", data_type="integer")]),
    ("321001-0001", "xfj", dict(
        name="信访事项办理信息", class_name="信访/信访事项", format="数据库表",
        summary="信访事项登记、交办和办结情况。", share_type="有条件共享",
        share_condition="仅限责任单位办理本单位交办事项，信访人信息严格保密", share_method="接口调用",
        open_type="不予开放", update_cycle="每日", keywords=["信访", "投诉"]), [
        F("xfjbh", "信访件编号", key=True), F("xfrxm", "信访人姓名", **NAME), F("xfrsfzh", "信访人身份证号", **ID),
        F("xfrdh", "信访人电话", **PHONE), F("xfnr", "信访内容", grading="L2"), F("zrdw", "责任单位"),
        F("blzt", "办理状态", element="enum", enum=["待受理", "办理中", "已办结"]), F("djrq", "登记日期", **DATE)]),
]

RELATED = {"101002-0001": ["101001-0001"], "303001-0001": ["101001-0001", "102001-0001"],
           "105001-0001": ["102001-0001"], "317001-0001": ["101001-0001"], "104002-0001": ["102001-0001"]}


def resources() -> list[ResourceIn]:
    city = get_settings().city_code
    out = []
    for code, key, meta, fields in DEMO_RESOURCES:
        out.append(ResourceIn(code=code, class_code=code.split("-")[0], provider_code=f"{city}-{key}",
                              related_codes=RELATED.get(code, []), fields=[FieldIn(**f) for f in fields], **meta))
    return out


def load(console: Any = None) -> None:
    """Register and publish the demo resources that do not exist yet."""
    created = 0
    with session_scope() as s:
        for data in resources():
            if service.find_resource(s, data.code or "") is not None:
                continue
            try:
                identity.get_org(s, data.provider_code)
            except NotFound:  # another city's reference data may lack the department
                continue
            service.create_resource(s, SYSTEM, data)
            service.publish_direct(s, SYSTEM, data.code or "")
            created += 1
    if console is not None and created:
        console.print(f"  数据资源目录：已登记并发布 {created} 个信息资源")
