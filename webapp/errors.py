"""Chinese wording for HTTP errors and invalid input, for the pages and the API alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HTTP_ZH: dict[int, str] = {
    400: "请求有误。",
    401: "需要登录或有效的 API 令牌。",
    403: "您无权执行该操作。",
    404: "页面不存在。",
    405: "不支持该请求方式（请从页面上的按钮操作）。",
    409: "当前状态不允许该操作。",
    413: "上传的内容过大。",
    415: "不支持的文件类型。",
    422: "填写的内容有误。",
    429: "请求过于频繁，请稍后再试。",
}
FIELD_ZH: dict[str, str] = {
    "page": "页码",
    "per_page": "每页条数",
    "version": "版本号",
    "action": "操作",
    "note": "说明",
    "callback_result": "回访结果",
    "assignee": "处理人",
    "slip_nos": "预警单编号",
    "level": "预警等级",
    "supervised": "仅督办",
    "body": "内容",
    "file": "文件",
}


def _one(error: dict[str, Any]) -> tuple[str, str]:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "form")]
    name = loc[-1] if loc else ""
    field = FIELD_ZH.get(name, name or "参数")
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        text = f"{field}为必填项"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        text = f"{field}须为整数"
    elif kind == "less_than_equal":
        text = f"{field}不能大于 {ctx.get('le')}"
    elif kind == "greater_than_equal":
        text = f"{field}不能小于 {ctx.get('ge')}"
    elif kind in ("literal_error", "enum"):
        text = f"{field}的取值须为 {ctx.get('expected', '规定的选项')}"
    elif kind == "string_too_long":
        text = f"{field}不能超过 {ctx.get('max_length')} 个字符"
    elif kind in ("bool_parsing", "bool_type"):
        text = f"{field}须为是/否"
    elif kind in ("json_invalid", "model_attributes_type", "dict_type"):
        text = "请求内容须为 JSON 对象"
    else:
        text = f"{field}的值无效"
    return name, text


def validation_message(errors: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """One Chinese sentence for the person, and the per-field list for programs."""
    items = [_one(e) for e in errors] or [("", "参数错误")]
    return "参数错误：" + "；".join(text for _, text in items), [
        {"field": name, "message": text} for name, text in items
    ]
