"""UI text in Chinese (default) and English.

The language is chosen by ``?lang=`` (remembered in a cookie), then the cookie,
then Chinese: classrooms should look the same whatever the browser says.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh-CN", "en"]
DEFAULT: Lang = "zh-CN"
LANGS: tuple[Lang, ...] = ("zh-CN", "en")
COOKIE = "sanke_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (zh-CN, en)
    "app.name": ("三课", "Sanke"),
    "app.tagline": ("三个课堂 · 专递课堂 名师课堂 名校网络课堂", "Three classrooms, one platform"),
    "lang.switch": ("English", "中文"),
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.totp": ("动态验证码", "Authenticator code"),
    "login.totp_hint": (
        "请输入手机验证器 App 中的 6 位数字",
        "Enter the 6 digits from your authenticator app",
    ),
    "login.submit": ("登录", "Sign in"),
    "logout": ("退出登录", "Sign out"),
    "home.title": ("工作台", "Home"),
    "home.welcome": ("欢迎，{name}", "Welcome, {name}"),
    "home.role": ("角色", "Role"),
    "home.scope": ("管理范围", "Scope"),
    "home.next": (
        "课表、直播课堂、巡课与教研功能将在这里出现。",
        "Timetable, live lessons, patrol and review will appear here.",
    ),
    "home.schools": ("学校", "Schools"),
    "account.title": ("账户与安全", "Account and security"),
    "account.totp": ("两步验证（TOTP）", "Two-step verification (TOTP)"),
    "account.totp_on": ("已开启两步验证。", "Two-step verification is on."),
    "account.totp_off": (
        "管理员账户建议开启两步验证（等保三级要求双因素认证）。",
        "Admin accounts should turn on two-step verification (等保 level 3 asks for it).",
    ),
    "account.totp_begin": ("开启两步验证", "Turn on two-step verification"),
    "account.totp_secret": (
        "在验证器 App 中添加此密钥，然后输入显示的验证码：",
        "Add this key to your authenticator app, then enter the code it shows:",
    ),
    "account.totp_confirm": ("确认", "Confirm"),
    "account.password": ("修改密码", "Change password"),
    "account.new_password": ("新密码", "New password"),
    "account.current_password": ("当前密码", "Current password"),
    "account.saved": ("已保存。", "Saved."),
    "degraded.banner": (
        "实时状态服务（Redis）暂时不可用：在线状态和实时通知可能延迟，系统将自动恢复。",
        "Live state (Redis) is unavailable: presence and live updates may lag; "
        "Sanke recovers by itself.",
    ),
    "nav.users": ("账户管理", "Accounts"),
    "nav.audit": ("审计日志", "Audit log"),
    "users.title": ("账户管理", "Accounts"),
    "users.create": ("新建账户", "New account"),
    "users.display_name": ("姓名/名称", "Name"),
    "users.role": ("角色", "Role"),
    "users.place": ("所属区域或学校", "Region or school"),
    "users.status": ("状态", "Status"),
    "users.active": ("正常", "Active"),
    "users.inactive": ("已停用", "Deactivated"),
    "users.deactivate": ("停用", "Deactivate"),
    "users.activate": ("启用", "Reactivate"),
    "users.totp": ("两步验证", "2-step"),
    "users.created": ("已创建账户 {name}。", "Account {name} created."),
    "users.none_grantable": (
        "您的角色不能新建账户。",
        "Your role cannot create accounts.",
    ),
    "audit.title": ("审计日志", "Audit log"),
    "audit.at": ("时间", "Time"),
    "audit.actor": ("操作人", "Who"),
    "audit.action": ("操作", "Action"),
    "audit.target": ("对象", "Target"),
    "audit.outcome": ("结果", "Outcome"),
    "audit.address": ("地址", "Address"),
    "outcome.success": ("成功", "success"),
    "outcome.denied": ("拒绝", "denied"),
    "outcome.failure": ("失败", "failure"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # errors
    "error.credentials": ("用户名或密码错误。", "Wrong username or password."),
    "error.throttled": (
        "登录失败次数过多，请 {seconds} 秒后再试。",
        "Too many failed sign-ins; try again in {seconds} s.",
    ),
    "error.second_factor": (
        "请输入动态验证码。",
        "Enter the code from your authenticator app.",
    ),
    "error.login": ("请先登录。", "Please sign in."),
    "error.role": ("您的角色无权执行此操作。", "Your role may not do this."),
    "error.scope": (
        "该对象不在您的管理范围（区域或学校）内。",
        "This is outside your region or school.",
    ),
    "error.invalid": ("输入有误：{field}（{detail}）", "Invalid input: {field} ({detail})"),
    "error.weak_password": (
        "密码太简单：至少 8 位，且包含字母、数字、符号中的至少两类。",
        "Password too weak: at least 8 characters mixing two of letters, digits, symbols.",
    ),
    "error.current_password": ("当前密码不正确。", "The current password is wrong."),
    "error.user_exists": ("用户名已被使用。", "That username is taken."),
    "error.not_found": ("找不到该对象。", "Not found."),
    "error.totp_code": (
        "验证码不正确，请检查手机时间是否准确。",
        "Wrong code; check the phone's clock.",
    ),
    "error.live_state": (
        "实时状态服务暂时不可用，请稍后重试。",
        "Live state is unavailable; try again shortly.",
    ),
    "error.cross_site": (
        "请求来源不被允许，请从三课页面操作。",
        "Request origin refused; use Sanke's own pages.",
    ),
    # roles
    "role.admin": ("管理员（电教）", "Administrator"),
    "role.school_admin": ("学校管理员", "School administrator"),
    "role.teacher": ("主讲教师", "Teacher"),
    "role.receiving_classroom": ("听课教室（设备账户）", "Receiving classroom (device)"),
    "role.inspector": ("巡课员", "Inspector"),
    "role.researcher": ("教研员", "Researcher"),
}


def pick_lang(query: str | None, cookie: str | None) -> Lang:
    for value in (query, cookie):
        if value == "en":
            return "en"
        if value in ("zh", "zh-CN", "zh-cn"):
            return "zh-CN"
    return DEFAULT


def translate(lang: Lang, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang``; unknown keys show as themselves."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "zh-CN" else pair[1]
    return text.format(**values) if values else text
