"""UI text in Chinese (default) and English.

The language is chosen by ``?lang=`` (remembered in a cookie), then the cookie,
then Chinese: classrooms should look the same whatever the browser says.
"""

from __future__ import annotations

from typing import Literal

from web.i18n_reports import REPORT_MESSAGES
from web.i18n_review import REVIEW_MESSAGES

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
    "home.schools": ("学校", "Schools"),
    "home.today": ("今天的专递课", "Today's lessons"),
    "home.time": ("时间", "Time"),
    "home.teacher": ("主讲教师", "Teacher"),
    "home.from": ("主讲学校", "From"),
    "home.to": ("接收学校", "To"),
    "home.no_lessons": ("今天没有已发布的课。", "No published lessons today."),
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
    "error.storage": (
        "录像存储暂时连不上，录像仍安全保存；请稍后重试，或请管理员检查对象存储（SANKE_S3_URL）。",
        "The recordings store is unreachable (recordings are safe); try again shortly, or ask "
        "the administrator to check the object store (SANKE_S3_URL).",
    ),
    "error.cross_site": (
        "请求来源不被允许，请从三课页面操作。",
        "Request origin refused; use Sanke's own pages.",
    ),
    # schedule
    "nav.schedule": ("课表", "Timetable"),
    "schedule.title": ("排课与课表", "Scheduling and timetable"),
    "schedule.directory": (
        "当前基础数据：{schools} 所学校，{teachers} 名主讲教师，{classes} 个接收班级，"
        "每周需求 {periods} 课时。",
        "Directory: {schools} schools, {teachers} teachers, {classes} receiving classes, "
        "{periods} periods a week needed.",
    ),
    "schedule.imported": (
        "导入成功：{schools} 所学校，{teachers} 名教师，{classes} 个班级，{periods} 课时/周。",
        "Imported: {schools} schools, {teachers} teachers, {classes} classes, {periods} periods.",
    ),
    "schedule.nothing_imported": ("未导入任何数据，请修改后重新上传。", "Nothing was imported."),
    "schedule.file": ("文件", "File"),
    "schedule.line": ("行", "Line"),
    "schedule.column": ("列", "Column"),
    "schedule.problem": ("问题", "Problem"),
    "schedule.import": ("导入基础数据", "Import directory"),
    "schedule.import_hint": (
        "选择 schools.csv、bells.csv、classrooms.csv、teachers.csv、classes.csv、needs.csv、"
        "busy.csv（可选 previous.csv、calendar.csv），或一个包含这些工作表的 XLSX 工作簿。"
        "支持 UTF-8 与 GB18030 编码。先全部检查，有任何问题则不导入。",
        "Choose the CSV files (schools, bells, classrooms, teachers, classes, needs, busy; "
        "optional previous, calendar) or one XLSX workbook. Everything is checked first; "
        "any problem means nothing is imported.",
    ),
    "schedule.files": ("文件", "Files"),
    "schedule.solve": ("自动排课", "Plan the week"),
    "schedule.time_limit": ("最长计算时间（秒）", "Time limit (seconds)"),
    "schedule.max_receivers": ("每节课最多接收班级数", "Receiving classes per lesson"),
    "schedule.plans": ("方案", "Plans"),
    "schedule.no_plans": ("还没有排课方案。", "No plans yet."),
    "schedule.kind": ("类型", "Kind"),
    "schedule.kind.solve": ("排课", "Plan"),
    "schedule.kind.repair": ("调课", "Repair"),
    "schedule.status": ("求解状态", "Solver status"),
    "schedule.scheduled": ("已排课时", "Periods scheduled"),
    "schedule.unmet": ("未排课时", "Unmet periods"),
    "schedule.term": ("学期", "Term"),
    "schedule.open": ("查看", "Open"),
    "schedule.runs": ("最近的计算", "Recent runs"),
    "schedule.run.queued": ("排队中", "Queued"),
    "schedule.run.running": ("计算中", "Running"),
    "schedule.run.done": ("已完成", "Done"),
    "schedule.run.failed": ("失败", "Failed"),
    "schedule.run_title": ("排课计算 #{n}", "Solve run #{n}"),
    "schedule.run_error": ("计算失败：", "The run failed:"),
    "schedule.progress": ("进度", "Progress"),
    "schedule.phase.cover": ("第一步：尽量满足所有课时", "Step 1: cover every period"),
    "schedule.phase.goals": ("第二步：优化教师稳定、就近与均衡", "Step 2: soft goals"),
    "schedule.phase.counties": ("按县逐个排课", "Planning county by county"),
    "schedule.phase.famous": ("名校跨县补排", "Famous schools across counties"),
    "schedule.unmet_so_far": ("当前未排课时", "Unmet so far"),
    "schedule.objective": ("目标值", "Objective"),
    "schedule.see_plan": ("查看方案", "See the plan"),
    "schedule.plan_n": ("方案 #{n}", "Plan #{n}"),
    "schedule.periods_scheduled": ("课时已排", "periods scheduled"),
    "schedule.lessons": ("节主讲课", "output lessons"),
    "schedule.exports": ("导出", "Export"),
    "schedule.grid": ("周课表", "Weekly timetable"),
    "schedule.view": ("查看方式", "View"),
    "schedule.view.school": ("按主讲学校", "By output school"),
    "schedule.view.teacher": ("按教师", "By teacher"),
    "schedule.view.class": ("按接收班级", "By receiving class"),
    "schedule.of": ("对象", "Which"),
    "schedule.show": ("显示", "Show"),
    "schedule.no_grid": ("所选对象与查看方式不匹配。", "That choice does not match the view."),
    "schedule.period": ("节次", "Period"),
    "schedule.period_n": ("第{n}节", "P{n}"),
    "schedule.day.1": ("周一", "Mon"),
    "schedule.day.2": ("周二", "Tue"),
    "schedule.day.3": ("周三", "Wed"),
    "schedule.day.4": ("周四", "Thu"),
    "schedule.day.5": ("周五", "Fri"),
    "schedule.unmet_needs": ("未满足的需求", "Unmet needs"),
    "schedule.class": ("班级", "Class"),
    "schedule.subject": ("学科", "Subject"),
    "schedule.periods_unmet": ("未排课时/周", "Periods unmet"),
    "schedule.reason": ("原因", "Reason"),
    "schedule.all_met": ("所有需求均已满足（开齐开足）。", "Every need is met."),
    "schedule.publish": ("发布到学期", "Publish for the term"),
    "schedule.publish_hint": (
        "按学期日期生成每天的课（节假日与调休按 calendar.csv），从今天起替换之前发布的课表。",
        "Creates the dated lessons for the term (holidays from calendar.csv), replacing the "
        "previously published plan from today on.",
    ),
    "schedule.term_start": ("开学日期", "First day"),
    "schedule.term_end": ("结束日期", "Last day"),
    "schedule.published_msg": (
        "已发布：新增 {added} 节课，取消 {cancelled} 节旧课。",
        "Published: {added} dated lessons added, {cancelled} cancelled.",
    ),
    "schedule.repair": ("教师请假调课", "Repair around an absence"),
    "schedule.repair_hint": (
        "只重排受影响的课，其余不动；已发布的课表只在所选日期内更改。",
        "Re-plans only what the absence affects; published lessons change only in these dates.",
    ),
    "schedule.absent_teacher": ("请假教师", "Absent teacher"),
    "schedule.from": ("从", "From"),
    "schedule.to": ("到", "To"),
    "schedule.repaired_msg": (
        "调课完成：撤下 {removed} 节，新排 {added} 节；所选日期内新增 {dated} 节课。",
        "Repaired: {removed} lessons removed, {added} added; {dated} dated lessons added.",
    ),
    "schedule.note": ("请假：{teachers}，{start} 至 {end}", "Absent: {teachers}, {start} to {end}"),
    "schedule.changes_from": ("相对方案 #{n} 的改动", "Changes from plan #{n}"),
    "schedule.error.import_failed": (
        "导入文件有 {count} 处问题。",
        "The files have {count} problems.",
    ),
    "schedule.error.no_directory": (
        "还没有基础数据（需求为空），请先导入。",
        "There is no directory (no needs) yet; import it first.",
    ),
    "schedule.error.no_plan": ("找不到方案 #{plan}。", "No plan #{plan}."),
    "schedule.error.publish_repair": (
        "调课方案不能单独发布，请发布原排课方案。",
        "A repair cannot be published by itself; publish the plan it repairs.",
    ),
    "schedule.error.term": (
        "学期日期有误：结束日期应不早于开学日期，且不超过一年。",
        "Term dates: the end must not precede the start, and a term is at most a year.",
    ),
    "schedule.error.dates": ("结束日期不能早于开始日期。", "The end precedes the start."),
    "schedule.error.absent": (
        "请选择请假教师（找不到：{teachers}）。",
        "Choose the absent teacher (unknown: {teachers}).",
    ),
    "schedule.error.export": ("没有名为 {name} 的导出文件。", "No export named {name}."),
    "schedule.error.unpublished": (
        "方案尚未发布，没有学期日历可导出。",
        "The plan is not published: there is no term calendar to export.",
    ),
    "schedule.error.range": (
        "日期范围有误：最多 62 天，结束不早于开始。",
        "Date range: at most 62 days, end not before start.",
    ),
    # roles
    "role.admin": ("管理员（电教）", "Administrator"),
    "role.school_admin": ("学校管理员", "School administrator"),
    "role.teacher": ("主讲教师", "Teacher"),
    "role.receiving_classroom": ("听课教室（设备账户）", "Receiving classroom (device)"),
    "role.inspector": ("巡课员", "Inspector"),
    "role.researcher": ("教研员", "Researcher"),
    # live lessons ---------------------------------------------------------------------
    "nav.lessons": ("直播课堂", "Live lessons"),
    "nav.patrol": ("网络巡课", "Patrol"),
    "lesson.error.no_lesson": ("没有这节课。", "There is no such lesson."),
    "lesson.error.not_open": (
        "这节课还没有开始进入（上课前 10 分钟开放）。",
        "This lesson is not open yet (it opens 10 minutes before the bell).",
    ),
    "lesson.error.ended": ("这节课已经结束。", "This lesson has ended."),
    "lesson.error.cancelled": (
        "这节课已取消（课表已调整），请查看新的课表。",
        "This lesson was cancelled (the timetable changed); see the new timetable.",
    ),
    "lesson.error.not_live": ("这节课不在进行中。", "This lesson is not in progress."),
    "lesson.error.not_your_lesson": (
        "这节课由其他教师主讲，您不能进入主讲端。",
        "Another teacher teaches this lesson.",
    ),
    "lesson.error.not_your_classroom": (
        "本教室不接收这节课，或该教室不属于本校。",
        "This classroom does not follow this lesson, or is not your school's.",
    ),
    "lesson.error.role": (
        "您的角色不参与直播课堂。",
        "Your role does not take part in live lessons.",
    ),
    "lesson.error.other_region": (
        "这节课不在您的管理区域内。",
        "This lesson is outside your region.",
    ),
    "lesson.error.not_master": (
        "教研员只能观摩名师课堂的直播。",
        "Researchers watch live master lessons only.",
    ),
    "lesson.error.replaced": (
        "本教室已在另一台设备上进入课堂，这台设备已停止。",
        "This classroom joined from another device; this one has stopped.",
    ),
    "lesson.error.not_allowed": ("您不能执行这个操作。", "You may not do this here."),
    "lesson.error.interaction_disabled": (
        "主讲教师已关闭互动。",
        "The teacher has turned interaction off.",
    ),
    "lesson.error.too_many_hands": ("举手的教室太多了。", "Too many hands are raised."),
    "lesson.error.no_target": ("请选择一个接收教室。", "Choose a receiving classroom."),
    "lesson.error.unknown_action": ("未知的操作。", "Unknown action."),
    "lesson.error.unknown_item": ("评分项不在巡课量表中。", "An item is not on the checklist."),
    "lesson.error.bad_score": ("每项评分应为 1 到 5 的整数。", "Each score is a whole number 1-5."),
    "lesson.error.no_scores": ("请至少为一项评分。", "Score at least one item."),
    "lesson.error.notes_too_long": (
        "备注太长（最多 2000 字）。",
        "Notes are at most 2,000 characters.",
    ),
    "lesson.error.bad_report": ("质量报告格式不对。", "The quality report is malformed."),
    "live.state.scheduled": ("未开始", "Scheduled"),
    "live.state.open": ("候课中", "Open"),
    "live.state.live": ("直播中", "Live"),
    "live.state.ended": ("已结束", "Ended"),
    "live.state.archived": ("已归档", "Archived"),
    "live.lessons.title": ("直播课堂", "Live lessons"),
    "live.lessons.today": ("今天的课", "Today"),
    "live.lessons.week": ("本周的课", "This week"),
    "live.lessons.none": ("没有课。", "No lessons."),
    "live.lessons.state": ("状态", "State"),
    "live.lessons.receivers": ("接收教室", "Receiving classrooms"),
    "live.join": ("进入", "Join"),
    "live.teach": ("进入主讲", "Teach"),
    "live.receive": ("进入听课", "Receive"),
    "live.watch": ("巡课", "Watch"),
    "live.grade": ("{grade} 年级", "Grade {grade}"),
    "live.bell": ("上课时间", "Bell"),
    "live.timer": ("已上课", "Elapsed"),
    "live.left": ("距下课", "To the bell"),
    "live.preview": ("我的画面", "My camera"),
    "live.share": ("共享课件", "Share courseware"),
    "live.share_stop": ("停止共享", "Stop sharing"),
    "live.call_on": ("请他们发言", "Call on"),
    "live.end_call": ("结束发言", "End the call"),
    "live.mute_all": ("全体静音", "Mute all"),
    "live.unmute_all": ("解除全体静音", "Unmute all"),
    "live.disable_interaction": ("关闭互动", "Disable interaction"),
    "live.enable_interaction": ("开启互动", "Enable interaction"),
    "live.pause": ("暂停", "Pause"),
    "live.resume": ("继续", "Resume"),
    "live.end": ("下课", "End lesson"),
    "live.end_confirm": (
        "确定结束这节课吗？所有教室将退出。",
        "End this lesson for every classroom?",
    ),
    "live.chat": ("文字交流", "Chat"),
    "live.chat_send": ("发送", "Send"),
    "live.chat_placeholder": ("输入文字…", "Type a message…"),
    "live.joined": ("已进入", "Joined"),
    "live.absent": ("未进入", "Not joined"),
    "live.hand": ("举手", "Hand raised"),
    "live.speaking": ("发言中", "Speaking"),
    "live.quality.good": ("网络良好", "Network good"),
    "live.quality.poor": ("网络较差", "Network poor"),
    "live.raise_hand": ("举手", "Raise hand"),
    "live.lower_hand": ("放下手", "Lower hand"),
    "live.called_on_me": (
        "老师请你们发言，麦克风已打开",
        "The teacher has called on you; your microphone is on",
    ),
    "live.paused": ("老师暂停了课堂，请稍候", "The teacher has paused the lesson"),
    "live.interaction_off": ("主讲教师已关闭互动", "The teacher has turned interaction off"),
    "live.waiting": ("等待上课", "Waiting for the lesson"),
    "live.next": ("下一节", "Next lesson"),
    "live.no_more": ("今天没有更多的课了", "No more lessons today"),
    "live.opens_at": ("{time} 开放进入", "Opens at {time}"),
    "live.teacher_waiting": ("主讲教师还没有进入，请稍候", "The teacher has not joined yet"),
    "live.ended": ("本节课已结束", "This lesson has ended"),
    "live.no_camera": (
        "没有检测到摄像头：请检查摄像头是否接好。课堂仍可正常收看。",
        "No camera found: check that it is plugged in. You can still watch the lesson.",
    ),
    "live.no_network": (
        "网络中断，正在自动重新连接…",
        "The network dropped; reconnecting by itself…",
    ),
    "live.no_server": (
        "暂时连接不上服务器，正在自动重试…",
        "Cannot reach the server; retrying by itself…",
    ),
    "live.no_media_server": (
        "暂时连接不上媒体服务器，正在自动重试…",
        "Cannot reach the media server; retrying by itself…",
    ),
    "live.no_media_client": (
        "服务器缺少 LiveKit 浏览器组件，无法进入课堂音视频：请管理员在服务器上运行 npm ci"
        "（或 make node_modules/.installed）后重启服务。",
        "The server lacks the LiveKit browser client, so the lesson's audio and video cannot"
        " start: an administrator must run npm ci (or make node_modules/.installed) on the"
        " server and restart it.",
    ),
    "live.login_again": ("登录已过期，请重新登录。", "Your session has expired; sign in again."),
    "live.take_over": ("在本机继续上课", "Continue on this device"),
    "live.receivers_joined": ("接收端 {joined}/{total}", "Receivers {joined}/{total}"),
    "live.alert.receiver_missing": ("接收端未到", "Receiver missing"),
    "live.alert.video_frozen": ("画面卡顿", "Video frozen"),
    "live.alert.no_audio": ("无声音", "No audio"),
    "live.alert.poor_network": ("网络较差", "Poor network"),
    "live.alert.teacher_absent": ("主讲未到", "Teacher not here"),
    "live.alert.recording_failed": ("录制中断", "Recording stopped"),
    "live.patrol.title": ("网络巡课", "Network patrol"),
    "live.patrol.per_page": ("每页", "Per page"),
    "live.patrol.rotate": ("轮巡间隔", "Rotate every"),
    "live.patrol.seconds": ("{n} 秒", "{n} s"),
    "live.patrol.off": ("不轮巡", "Off"),
    "live.patrol.none": ("您的区域现在没有正在进行的课。", "No live lessons in your region now."),
    "live.patrol.page": ("第 {page}/{pages} 页", "Page {page}/{pages}"),
    "live.patrol.close": ("返回巡课墙", "Back to the wall"),
    "live.patrol.inspect": ("巡课记录", "Inspection"),
    "live.patrol.notes": ("巡课意见", "Notes"),
    "live.patrol.save": ("保存记录", "Save"),
    "live.patrol.saved": ("已记录（第 {minute} 分钟）", "Saved (minute {minute})"),
    "live.patrol.hidden": ("您正在隐身观看，师生看不到您", "You watch hidden; nobody sees you"),
    "nav.recordings": ("录像评课", "Recordings"),
    "review.not_found": (
        "没有这段录像，或你无权查看。",
        "No such recording, or you may not see it.",
    ),
    "review.refused.not_reviewer": (
        "你可以观看这段录像，但不能评课。",
        "You may watch this recording but not review it.",
    ),
    "review.refused.not_author": (
        "只有作者本人可以删除这条评语。",
        "Only its author may delete a comment.",
    ),
    "review.refused.not_lead": (
        "只有研修组组长可以修改研修组。",
        "Only the group's lead may change it.",
    ),
    "review.refused.role": ("你的角色不能执行此操作。", "Your role may not do this."),
    "review.refused.not_ready": (
        "录像还在处理中，请稍后再剪辑。",
        "The recording is still being processed.",
    ),
    "review.invalid.at": ("时间点不在录像范围内。", "The time is outside the recording."),
    "review.invalid.until": (
        "结束时间须晚于开始时间，且在录像范围内。",
        "The end must be later than the start and inside the recording.",
    ),
    "review.invalid.text": (
        "请填写内容（不超过 2000 字）。",
        "Write the text (at most 2,000 characters).",
    ),
    "review.invalid.title": (
        "请填写标题（不超过 100 字）。",
        "Give a title (at most 100 characters).",
    ),
    "review.invalid.name": (
        "请填写名称（不超过 100 字）。",
        "Give a name (at most 100 characters).",
    ),
    "review.invalid.category": ("请选择评语类别。", "Choose a category."),
    "review.invalid.visibility": ("请选择可见范围。", "Choose who may read it."),
    "review.invalid.group": (
        "请选择你所在、并且共享了这段录像的研修组。",
        "Choose a research group you are in that shares this recording.",
    ),
    "review.invalid.rubric_item": ("量表中没有这一项。", "The rubric has no such item."),
    "review.invalid.value": (
        "分值不在量表范围内，或缺少量表项目。",
        "The value is not on the scale, or its rubric item is missing.",
    ),
    "review.invalid.start": (
        "片段起点不在录像范围内。",
        "The clip's start is outside the recording.",
    ),
    "review.invalid.end": ("片段终点须晚于起点。", "The clip's end must be later than its start."),
    "review.invalid.deadline": (
        "截止时间须是今后的日期，如 2026-12-01。",
        "The deadline must be a future date, e.g. 2026-12-01.",
    ),
    "review.invalid.recordings": (
        "请至少选择一段录像（最多 50 段）。",
        "Choose at least one recording (at most 50).",
    ),
    "review.invalid.user": (
        "该账号不能加入这个研修组。",
        "That account cannot join this research group.",
    ),
}
MESSAGES.update(REVIEW_MESSAGES)
MESSAGES.update(REPORT_MESSAGES)


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
