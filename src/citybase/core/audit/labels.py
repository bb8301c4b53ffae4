"""How the ledger reads to people: Chinese names of actions, object types, detail keys and results.

Every action code is ``area.verb``. A code listed in :data:`ACTIONS` has its own name; any other one
is named from its area and verb (``exchange.revoke`` → 共享交换 · 撤销), so a new action never shows
as a bare code."""

from __future__ import annotations

import json
from typing import Any

AREAS = {
    "auth": "登录认证", "user": "用户", "org": "组织机构", "token": "API 令牌", "calendar": "工作日历",
    "audit": "安全审计", "security": "安全告警", "catalog": "数据资源目录", "lake": "数据归集", "quality": "数据治理",
    "objection": "数据异议", "baselib": "基础库", "exchange": "共享交换", "opendata": "开放平台", "grid": "网格",
    "events": "一网统管", "iot": "物联感知",
}
VERBS = {
    "create": "新建", "update": "修改", "delete": "删除", "import": "导入", "export": "导出", "login": "登录",
    "logout": "退出", "login_failed": "登录失败", "login_locked": "锁定期内登录", "account_locked": "账号被锁定",
    "activate": "启用/停用", "set_password": "设置密码", "unlock": "解锁", "revoke": "撤销", "set": "设置",
    "submit": "提交审核", "approve": "审核通过", "return": "退回", "publish": "发布", "withdraw": "撤回",
    "publish_direct": "直接发布", "change_request": "申请变更", "change_approve": "同意变更", "change_reject": "驳回变更",
    "ingest": "归集入湖", "upload": "上传文件", "sql_source": "配置数据库源", "evaluate": "质量检核",
    "rule_add": "新增规则", "rule_remove": "删除规则", "rule_delete": "删除规则", "conflict_set": "设置一数一源规则",
    "raise": "提出异议", "accept": "受理异议", "fix": "整改", "build": "重建", "register": "登记", "lookup": "按标识查询",
    "set_source": "设置数据源", "remove_source": "移除数据源", "request": "提交申请", "reject": "驳回", "read": "读取数据",
    "subscribe": "订阅", "unsubscribe": "取消订阅", "overdue": "超期", "deliver_failed": "投递失败",
    "notifications_read": "读取通知", "apply": "申请", "decide": "审批", "comment": "评论", "rate": "评分",
    "demand": "提出数据需求", "answer_demand": "答复需求", "route_demand": "转办需求", "report_comment": "举报评论",
    "developer_register": "开发者注册", "assign": "指派网格员", "unassign": "取消指派", "intake": "受理登记",
    "dispatch": "派单", "triage": "分拨", "sign": "签收", "start": "开始办理", "feedback": "处理反馈",
    "verify_pass": "核查通过", "verify_rework": "核查返工", "callback": "回访", "archive": "归档", "merge": "并单",
    "answer": "即时办结", "reveal_phone": "查看来电号码", "recall": "撤回派单", "urge": "催办", "suspend": "挂账",
    "resume": "恢复办理", "extension_request": "申请延期", "extension_approve": "批准延期", "extension_deny": "驳回延期",
    "import_history": "导入历史工单", "type_save": "保存问题类型", "types_seed": "载入问题类型",
    "callback_unreachable": "回访未接通", "alert": "告警", "verify": "校验账本", "export_checkpoints": "导出检查点",
    "load_reference": "载入参考数据",
}
ACTIONS = {"security.alert": "安全告警", "audit.verify": "校验账本完整性", "audit.export_checkpoints": "导出签名检查点",
           "audit.export": "导出审计记录", "exchange.read": "读取共享数据"}
OBJECT_TYPES = {
    "catalog_resource": "信息资源", "catalog_file": "目录文件", "user": "用户", "organisation": "组织机构",
    "api_token": "API 令牌", "work_order": "工单", "baselib": "基础库", "audit_ledger": "审计账本", "grid": "网格",
    "lake_version": "数据版本", "share_request": "共享申请", "share_grant": "共享授权", "device": "设备",
    "session": "会话", "calendar_day": "日历",
}
KEYS = {
    "from": "原状态", "to": "新状态", "comment": "意见", "note": "说明", "reason": "原因", "changed": "修改项",
    "name": "名称", "user": "用户", "role": "角色", "org_code": "单位", "expires_at": "到期时间", "client": "客户端",
    "channel": "渠道", "type_code": "问题类型", "grid_code": "网格", "district_code": "区", "main_unit": "主办单位",
    "assist_units": "协办单位", "key": "标识（已脱敏）", "purpose": "事由", "result": "结果", "kind": "类型",
    "message": "内容", "rows": "行数", "resource": "资源", "resource_code": "资源", "version": "版本",
    "fields": "字段", "count": "条数", "created": "新建", "updated": "更新", "unchanged": "无变化",
    "published": "发布", "ok": "校验通过", "checked": "已校验条数", "first_bad_seq": "首个异常序号", "sm3": "文件 SM3",
    "filters": "筛选条件", "entries": "条数", "last_reason": "最近原因", "last_key": "最近标识（已脱敏）",
}
FAILED = ("failed", "locked", "refused", "reject", "overdue", "deliver_failed")


def action_label(code: str) -> str:
    """The Chinese name of an action code."""
    if code in ACTIONS:
        return ACTIONS[code]
    area, _, verb = code.partition(".")
    return f"{AREAS.get(area, area)} · {VERBS.get(verb, verb)}" if verb else AREAS.get(area, code)


def area_choices() -> list[tuple[str, str]]:
    """(prefix, name) for the ledger's 操作类型 filter."""
    return [(f"{k}.", v) for k, v in AREAS.items()]


def object_label(object_type: str) -> str:
    return OBJECT_TYPES.get(object_type, object_type)


def result_of(action: str, detail: dict[str, Any]) -> str:
    """成功, 失败 or 告警, from the action and its detail."""
    if action.startswith("security."):
        return "告警"
    if detail.get("result") in ("refused", "not_found") or detail.get("ok") is False:
        return "失败" if detail.get("result") != "not_found" else "未命中"
    return "失败" if any(action.endswith(f) for f in FAILED) else "成功"


def detail_pairs(detail_json: str) -> list[tuple[str, str]]:
    """The detail as (label, value) pairs in the order it was written; lists joined, nested dicts inline."""
    try:
        data = json.loads(detail_json or "{}")
    except ValueError:
        return [("详情", detail_json)]
    if not isinstance(data, dict):
        return [("详情", str(data))]
    out = []
    for k, v in data.items():
        if v is None or v == "" or v == []:
            continue
        if isinstance(v, bool):
            text = "是" if v else "否"
        elif isinstance(v, list):
            text = "、".join(str(x) for x in v)
        elif isinstance(v, dict):
            text = "；".join(f"{KEYS.get(a, a)}：{b}" for a, b in v.items())
        else:
            text = str(v)
        out.append((KEYS.get(k, k), text[:300]))
    return out
