"""Work-order states, channels, action labels and the flow's constants."""

from __future__ import annotations

from citybase.standards.masking import mask_value

RECEIVED, REJECTED, MERGED, ANSWERED = "received", "rejected", "merged", "answered"
TRIAGED, DISPATCHED, SIGNED, IN_PROGRESS = "triaged", "dispatched", "signed", "in_progress"
SUSPENDED, VERIFYING, CALLBACK, REOPENED = "suspended", "verifying", "callback", "reopened"
CLOSED, ARCHIVED = "closed", "archived"
STATUS_LABELS: dict[str, str] = {
    RECEIVED: "受理", REJECTED: "不予受理", MERGED: "并单", ANSWERED: "即时办结", TRIAGED: "待派单",
    DISPATCHED: "已派单", SIGNED: "已签收", IN_PROGRESS: "办理中", SUSPENDED: "挂账",
    VERIFYING: "核查", CALLBACK: "回访", REOPENED: "重办", CLOSED: "办结", ARCHIVED: "归档",
}
FINISHED = {REJECTED, MERGED, ANSWERED, CLOSED, ARCHIVED}
HANDLING = {DISPATCHED, SIGNED, IN_PROGRESS}
CHANNEL_LABELS = {"hotline": "12345热线", "grid": "网格员上报", "public": "随手拍", "api": "系统对接",
                  "open311": "Open311", "sensor": "物联感知", "superior": "上级交办"}
ACTION_LABELS = {
    "intake": "受理登记", "reject": "不予受理", "merge": "并单", "answer": "即时办结", "triage": "待派单",
    "dispatch": "派单", "sign": "签收", "return": "退单", "start": "开始办理", "extension_request": "申请延期",
    "extension_approve": "批准延期", "extension_deny": "驳回延期", "suspend": "挂账", "resume": "恢复办理",
    "feedback": "处理反馈", "verify_pass": "核查通过", "verify_rework": "核查返工", "callback_satisfied": "回访满意",
    "callback_unsatisfied": "回访不满意", "callback_unreachable": "回访未接通", "close": "办结",
    "reopen": "重办", "archive": "归档", "reveal_phone": "查看来电号码", "recall": "撤回派单", "reassign": "改派",
    "sign_overdue": "签收超时", "warn": "临期预警", "overdue": "办理超期", "urge": "催办", "supervise": "督办",
}
LEVEL_LABELS = {"street": "街道", "district": "区", "city": "市"}
CALLBACK_MAX_TRIES = 3
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_HOURS = 24
MACHINE_CHANNELS = {"api", "sensor", "open311"}
PEOPLE_CHANNELS = {"hotline", "grid", "public"}  # a person typed it: a description and a place are required
MIN_DESCRIPTION = 4  # characters (not counting spaces): “路灯不亮” is a problem, “x” is not
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
                 "GIF": ("image/gif", "gif")}
WORKDAY_HOURS = 7.0


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def is_open(status: str) -> bool:
    return status not in FINISHED


def mask_name(name: str | None) -> str:
    """A reporter's name as shown without a grant (the platform's name rule)."""
    return mask_value("name", name) or ""


def mask_phone(phone: str | None) -> str:
    """A reporter's phone as shown without a grant (the platform's mobile rule)."""
    return mask_value("mobile", phone) or ""
