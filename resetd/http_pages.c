/* The reset web service's pages (see http_pages.h). */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_pages.h"

/* --- texts */

enum txt {
	T_TITLE_REQUEST,
	T_INTRO_EMAIL,
	T_INTRO_REALM,
	T_EMAIL,
	T_EMAIL_CONFIRM,
	T_REALM,
	T_USER,
	T_REQUIRED,
	T_SEND,
	T_FORM_ERROR,
	T_TITLE_SENT,
	T_SENT_LINK,
	T_SENT_TEMPORARY,
	T_SENT_HINT,
	T_TITLE_RESET,
	T_RULE,
	T_PASSWORD,
	T_PASSWORD_CONFIRM,
	T_CHANGE,
	T_POLICY,
	T_TITLE_DONE,
	T_DONE,
	T_BACK,
	T_BACK_LOGIN,
	T_TITLE_BAD_TOKEN,
	T_BAD_TOKEN,
	T_NEW_REQUEST,
	T_TITLE_ERROR,
	T_FORBIDDEN,
	T_NOT_FOUND,
	T_METHOD,
	T_TOO_BIG,
	T_MEDIA_TYPE,
	T_THROTTLED,
	T_UNAVAILABLE,
	T_BUSY,
	T_COUNT
};

static const struct {
	const char *en, *ja;
} texts[T_COUNT] = {
    [T_TITLE_REQUEST] = {"Password reset", "パスワードリセット申請"},
    [T_INTRO_EMAIL] = {"Enter the e-mail address registered for your account. We will send "
                       "you a message with a link to set a new password.",
                       "登録メールアドレスを入力し、「メール送信」ボタンを押してください。パスワー"
                       "ド再設定用のURLを記載したメールをお送りします。"},
    [T_INTRO_REALM] = {"Enter the survey code, your user ID and the e-mail address you "
                       "registered. We will send a message to that address.",
                       "政府統計コード、調査対象者ID、連絡先情報として登録したメールアドレスを入"
                       "力してください。登録メールアドレスあてにメールを送信します。"},
    [T_EMAIL] = {"E-mail address", "メールアドレス"},
    [T_EMAIL_CONFIRM] = {"E-mail address (again, to confirm)", "メールアドレス (確認用)"},
    [T_REALM] = {"Survey code", "政府統計コード"},
    [T_USER] = {"User ID", "調査対象者ID"},
    [T_REQUIRED] = {"required", "必須"},
    [T_SEND] = {"Send", "メール送信"},
    [T_FORM_ERROR] = {"Please check the form.", "入力内容を確認してください。"},
    [T_TITLE_SENT] = {"Check your mail", "メールを送信しました"},
    [T_SENT_LINK] = {"If the details you entered match an account, we have sent a message "
                     "with a link to set a new password to its registered address. The link "
                     "is valid for %d minutes and works once.",
                     "入力内容が登録情報と一致した場合、登録メールアドレスあてにパスワード再設"
                     "定用のURLを送信しました。URLの有効時間は%d分で、一度だけ使用できます。"},
    [T_SENT_TEMPORARY] = {"If the details you entered match an account, we have sent a "
                          "temporary password to its registered address. It is valid for %d "
                          "minutes: please log in with it soon and set a new password.",
                          "入力内容が登録情報と一致した場合、再発行したパスワードを登録メール"
                          "アドレスあてに送信しました。再発行パスワードの有効時間は%d分です。"
                          "速やかにログインし、パスワードを変更してください。"},
    [T_SENT_HINT] = {"No message? Check the address you entered and your spam folder, "
                     "or contact your administrator.",
                     "メールが届かない場合は、入力したメールアドレスが正しいか、迷惑メール"
                     "フォルダ等に振り分けられていないかご確認のうえ、管理者にお問い合わせく"
                     "ださい。"},
    [T_TITLE_RESET] = {"Set a new password", "パスワードの再設定"},
    [T_RULE] = {"At least %d characters, with at least %d of these four kinds: upper-case "
                "letters, lower-case letters, digits, symbols.",
                "%d文字以上で、大文字、小文字、数字、記号のうち%d種類以上を含めてください。"},
    [T_PASSWORD] = {"New password", "パスワード"},
    [T_PASSWORD_CONFIRM] = {"New password (again, to confirm)", "パスワード (確認用)"},
    [T_CHANGE] = {"Change", "変更"},
    [T_POLICY] = {"The password does not meet the rules.", "パスワードが条件を満たしていません。"},
    [T_TITLE_DONE] = {"Password set", "パスワード設定完了"},
    [T_DONE] = {"Your new password is set. Use it the next time you log in. A notice has "
                "been sent to your registered address.",
                "新しいパスワードを設定しました。次回から新しいパスワードでログインしてくだ"
                "さい。登録メールアドレスあてに通知を送信しました。"},
    [T_BACK] = {"Back to the start page", "最初の画面へ戻る"},
    [T_BACK_LOGIN] = {"Back to the login page", "ログイン画面へ戻る"},
    [T_TITLE_BAD_TOKEN] = {"This link cannot be used", "このURLは使用できません"},
    [T_BAD_TOKEN] = {"The link is wrong, has expired or has already been used. Please "
                     "request a new one.",
                     "URLが正しくないか、有効期限が切れているか、既に使用されています。もう一度"
                     "申請してください。"},
    [T_NEW_REQUEST] = {"Request a new link", "もう一度申請する"},
    [T_TITLE_ERROR] = {"Error", "エラー"},
    [T_FORBIDDEN] = {"The form has expired or was not sent from this site. Please open the "
                     "page again and retry.",
                     "画面の有効期限が切れたか、このサイト以外から送信されました。画面を開き直"
                     "してもう一度お試しください。"},
    [T_NOT_FOUND] = {"There is no such page.", "ページが見つかりません。"},
    [T_METHOD] = {"This page cannot be used that way.", "この操作はできません。"},
    [T_TOO_BIG] = {"The form sent was too large.", "送信された内容が大きすぎます。"},
    [T_MEDIA_TYPE] = {"The form was sent in a format this service does not accept.",
                      "送信された形式には対応していません。"},
    [T_THROTTLED] = {"Too many attempts from your network. Please wait a few minutes and "
                     "try again.",
                     "短時間に多くの操作が行われました。数分待ってからもう一度お試しください。"},
    [T_UNAVAILABLE] = {"The service is temporarily unavailable. Nothing was changed. Please "
                       "try again later.",
                       "現在サービスを利用できません。変更は行われていません。しばらくしてから"
                       "もう一度お試しください。"},
    [T_BUSY] = {"The service is busy. Nothing was changed. Please try again in a moment.",
                "現在混み合っています。変更は行われていません。しばらくしてからもう一度お試"
                "しください。"},
};

static const char *tx(const char *lang, enum txt id)
{
	return strcmp(lang, "ja") == 0 ? texts[id].ja : texts[id].en;
}

/* --- pages: status, JSON name, title, default text */

static const struct page_def {
	unsigned status;
	const char *json;
	enum txt title, text;
} pages[MAILOTPD_PAGE_COUNT] = {
    [MAILOTPD_PAGE_REQUEST_FORM] = {200, "ok", T_TITLE_REQUEST, T_INTRO_EMAIL},
    [MAILOTPD_PAGE_REQUEST_ERROR] = {400, "form_error", T_TITLE_REQUEST, T_FORM_ERROR},
    [MAILOTPD_PAGE_REQUEST_SENT] = {200, "ok", T_TITLE_SENT, T_SENT_LINK},
    [MAILOTPD_PAGE_RESET_FORM] = {200, "ok", T_TITLE_RESET, T_RULE},
    [MAILOTPD_PAGE_RESET_ERROR] = {400, "form_error", T_TITLE_RESET, T_FORM_ERROR},
    [MAILOTPD_PAGE_RESET_POLICY] = {422, "policy", T_TITLE_RESET, T_POLICY},
    [MAILOTPD_PAGE_RESET_DONE] = {200, "ok", T_TITLE_DONE, T_DONE},
    [MAILOTPD_PAGE_BAD_TOKEN] = {410, "bad_token", T_TITLE_BAD_TOKEN, T_BAD_TOKEN},
    [MAILOTPD_PAGE_FORBIDDEN] = {403, "forbidden", T_TITLE_ERROR, T_FORBIDDEN},
    [MAILOTPD_PAGE_NOT_FOUND] = {404, "not_found", T_TITLE_ERROR, T_NOT_FOUND},
    [MAILOTPD_PAGE_METHOD] = {405, "method_not_allowed", T_TITLE_ERROR, T_METHOD},
    [MAILOTPD_PAGE_TOO_BIG] = {413, "too_large", T_TITLE_ERROR, T_TOO_BIG},
    [MAILOTPD_PAGE_MEDIA_TYPE] = {415, "unsupported_media_type", T_TITLE_ERROR, T_MEDIA_TYPE},
    [MAILOTPD_PAGE_THROTTLED] = {429, "throttled", T_TITLE_ERROR, T_THROTTLED},
    [MAILOTPD_PAGE_UNAVAILABLE] = {503, "unavailable", T_TITLE_ERROR, T_UNAVAILABLE},
    [MAILOTPD_PAGE_BUSY] = {503, "unavailable", T_TITLE_ERROR, T_BUSY},
};

static const char *const field_names[] = {
    [MAILOTP_FIELD_NONE] = NULL,
    [MAILOTP_FIELD_EMAIL] = "email",
    [MAILOTP_FIELD_EMAIL_CONFIRM] = "email_confirm",
    [MAILOTP_FIELD_REALM] = "realm",
    [MAILOTP_FIELD_USER] = "user",
    [MAILOTP_FIELD_PASSWORD] = "password",
    [MAILOTP_FIELD_PASSWORD_CONFIRM] = "password_confirm",
};

/* The one style block; its hash goes into the CSP, so any edit here is picked up. */
static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1a1a1a}"
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;"
    "border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.4rem}label{display:block;font-weight:600;margin-top:1rem}"
    "input{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;"
    "font-size:1rem;border:1px solid #767676;border-radius:4px}"
    "input[aria-invalid=true]{border:2px solid #b00020}"
    ".req{font-weight:400;font-size:.85rem;color:#b00020;margin-left:.5rem}"
    ".error{color:#b00020;font-weight:600}.hint{color:#444;font-size:.9rem}"
    "button{margin-top:1.5rem;padding:.6rem 1.5rem;font-size:1rem;background:#0b57d0;"
    "color:#fff;border:0;border-radius:4px;cursor:pointer}"
    "button:focus,input:focus,a:focus{outline:3px solid #f9a825;outline-offset:2px}";

static char csp[256];

int mailotpd_pages_init(void)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	                                   sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (crypto_hash_sha256(h, (const unsigned char *)style, strlen(style)) != 0)
		return MAILOTP_ERR_CRYPTO;
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(csp, sizeof(csp),
	             "default-src 'none'; style-src 'sha256-%s'; form-action 'self'; "
	             "frame-ancestors 'none'; base-uri 'none'",
	             b64);
	return n > 0 && (size_t)n < sizeof(csp) ? 0 : MAILOTP_ERR_INTERNAL;
}

const char *mailotpd_page_csp(void)
{
	return csp;
}

unsigned mailotpd_page_status(enum mailotpd_page page)
{
	return (unsigned)page < MAILOTPD_PAGE_COUNT ? pages[page].status : 500;
}

/* --- a growing buffer; the first failure sticks, checked once at the end */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		/* Not realloc: a page may carry a reset token, and a moved block
		 * would stay behind unwiped. */
		if ((p = malloc(cap)) == NULL) {
			b->failed = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(p, b->p, b->len + 1);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Formats only constant formats of this file (the texts table included). */
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->failed = true;
	else
		sb_add(b, tmp, (size_t)n);
}

/* HTML-escapes s for text and for double-quoted attribute values. */
static void sb_html(struct sbuf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			sb_str(b, "&amp;");
			break;
		case '<':
			sb_str(b, "&lt;");
			break;
		case '>':
			sb_str(b, "&gt;");
			break;
		case '"':
			sb_str(b, "&quot;");
			break;
		case '\'':
			sb_str(b, "&#39;");
			break;
		default:
			sb_add(b, s, 1);
		}
	}
}

/* A JSON string literal; '<', '>' and '&' escaped too, so it is inert in HTML. */
static void sb_json(struct sbuf *b, const char *s)
{
	if (s == NULL) {
		sb_str(b, "null");
		return;
	}
	sb_str(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_fmt(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&')
			sb_fmt(b, "\\u%04x", c);
		else
			sb_add(b, s, 1);
	}
	sb_str(b, "\"");
}

/* --- HTML pieces */

static void html_head(struct sbuf *b, const struct mailotpd_page_in *in, enum txt title)
{
	sb_str(b, "<!DOCTYPE html>\n<html lang=\"");
	sb_str(b, in->lang);
	sb_str(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	          "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
	sb_html(b, tx(in->lang, title));
	sb_str(b, "</title>\n<style>");
	sb_str(b, style);
	sb_str(b, "</style>\n</head>\n<body>\n<main>\n<h1>");
	sb_html(b, tx(in->lang, title));
	sb_str(b, "</h1>\n");
}

static void html_tail(struct sbuf *b)
{
	sb_str(b, "</main>\n</body>\n</html>\n");
}

static void html_error(struct sbuf *b, const char *msg)
{
	sb_str(b, "<p class=\"error\" id=\"err\" role=\"alert\">");
	sb_html(b, msg);
	sb_str(b, "</p>\n");
}

static void html_form_open(struct sbuf *b, const struct mailotpd_page_in *in, const char *action)
{
	sb_str(b, "<form method=\"post\" action=\"");
	sb_str(b, action);
	if (in->lang_from_query) {
		sb_str(b, "?lang=");
		sb_str(b, in->lang);
	}
	sb_str(b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
	sb_html(b, in->csrf);
	sb_str(b, "\">\n");
}

/* One labelled input; the error, if about this field, is tied to it for screen readers. */
static void html_input(struct sbuf *b, const struct mailotpd_page_in *in,
                       enum mailotp_reset_field f, enum txt label, const char *type,
                       const char *autocomplete, const char *value, const char *extra,
                       const char *describedby)
{
	const char *name = field_names[f];
	bool err = in->field == f;

	sb_fmt(b, "<label for=\"%s\">", name);
	sb_html(b, tx(in->lang, label));
	sb_str(b, "<span class=\"req\">");
	sb_html(b, tx(in->lang, T_REQUIRED));
	sb_fmt(b,
	       "</span></label>\n<input id=\"%s\" name=\"%s\" type=\"%s\" autocomplete=\"%s\" "
	       "required",
	       name, name, type, autocomplete);
	if (extra != NULL)
		sb_str(b, extra);
	if (value != NULL && *value != '\0') {
		sb_str(b, " value=\"");
		sb_html(b, value);
		sb_str(b, "\"");
	}
	if (err)
		sb_str(b, " aria-invalid=\"true\"");
	if (err || describedby != NULL)
		sb_fmt(b, " aria-describedby=\"%s%s%s%s\"", err ? "err err-" : "", err ? name : "",
		       err && describedby != NULL ? " " : "",
		       describedby != NULL ? describedby : "");
	sb_str(b, ">\n");
	/* The message again right under the field it is about, where the eye
	 * is; the summary at the top is for screen readers (role=alert). */
	if (err && in->message != NULL && *in->message != '\0') {
		sb_fmt(b, "<p class=\"error\" id=\"err-%s\">", name);
		sb_html(b, in->message);
		sb_str(b, "</p>\n");
	}
}

static const char *error_text(const struct mailotpd_page_in *in, enum txt fallback)
{
	return in->message != NULL && *in->message != '\0' ? in->message : tx(in->lang, fallback);
}

static void page_request_form(struct sbuf *b, const struct mailotpd_page_in *in, bool error)
{
	bool realm = in->cfg->reset_request_fields == MAILOTP_FIELDS_REALM_USER_EMAIL;

	html_head(b, in, T_TITLE_REQUEST);
	if (error)
		html_error(b, error_text(in, T_FORM_ERROR));
	sb_str(b, "<p>");
	sb_html(b, tx(in->lang, realm ? T_INTRO_REALM : T_INTRO_EMAIL));
	sb_str(b, "</p>\n");
	html_form_open(b, in, "request");
	if (realm) {
		html_input(b, in, MAILOTP_FIELD_REALM, T_REALM, "text", "off",
		           error ? in->realm : NULL, " maxlength=\"64\"", NULL);
		html_input(b, in, MAILOTP_FIELD_USER, T_USER, "text", "username",
		           error ? in->user : NULL, " maxlength=\"256\"", NULL);
		html_input(b, in, MAILOTP_FIELD_EMAIL, T_EMAIL, "email", "email",
		           error ? in->email : NULL, " maxlength=\"254\"", NULL);
	} else {
		html_input(b, in, MAILOTP_FIELD_EMAIL, T_EMAIL, "email", "email",
		           error ? in->email : NULL, " maxlength=\"254\"", NULL);
		html_input(b, in, MAILOTP_FIELD_EMAIL_CONFIRM, T_EMAIL_CONFIRM, "email", "email",
		           NULL, " maxlength=\"254\"", NULL);
	}
	sb_str(b, "<button type=\"submit\">");
	sb_html(b, tx(in->lang, T_SEND));
	sb_str(b, "</button>\n</form>\n");
	html_tail(b);
}

static int ttl_minutes(const struct mailotpd_page_in *in)
{
	return (in->cfg->reset_ttl + 59) / 60;
}

/* The same bytes whatever happened behind it: no enumeration through this page. */
static void page_request_sent(struct sbuf *b, const struct mailotpd_page_in *in)
{
	html_head(b, in, T_TITLE_SENT);
	sb_str(b, "<p>");
	sb_fmt(b,
	       tx(in->lang,
	          in->cfg->reset_mode == MAILOTP_RESET_TEMPORARY ? T_SENT_TEMPORARY : T_SENT_LINK),
	       ttl_minutes(in));
	sb_str(b, "</p>\n<p class=\"hint\">");
	sb_html(b, tx(in->lang, T_SENT_HINT));
	sb_str(b, "</p>\n");
	html_tail(b);
}

static void page_reset_form(struct sbuf *b, const struct mailotpd_page_in *in, enum txt error)
{
	char extra[64];

	html_head(b, in, T_TITLE_RESET);
	if (error != T_COUNT)
		html_error(b, error_text(in, error));
	/* The rule up front, tied to the field, rather than only after a refusal. */
	sb_str(b, "<p id=\"rule\">");
	sb_fmt(b, tx(in->lang, T_RULE), in->cfg->password_min_length,
	       in->cfg->password_min_classes);
	sb_str(b, "</p>\n");
	html_form_open(b, in, in->action != NULL ? in->action : "reset");
	sb_str(b, "<input type=\"hidden\" name=\"token\" value=\"");
	sb_html(b, in->token);
	sb_str(b, "\">\n");
	snprintf(extra, sizeof(extra), " minlength=\"%d\"", in->cfg->password_min_length);
	html_input(b, in, MAILOTP_FIELD_PASSWORD, T_PASSWORD, "password", "new-password", NULL,
	           extra, "rule");
	html_input(b, in, MAILOTP_FIELD_PASSWORD_CONFIRM, T_PASSWORD_CONFIRM, "password",
	           "new-password", NULL, NULL, NULL);
	sb_str(b, "<button type=\"submit\">");
	sb_html(b, tx(in->lang, T_CHANGE));
	sb_str(b, "</button>\n</form>\n");
	html_tail(b);
}

/* A text and a link to the start page (reset_public_url, never the request's Host). */
static void page_message(struct sbuf *b, const struct mailotpd_page_in *in, enum mailotpd_page p,
                         enum txt link)
{
	html_head(b, in, pages[p].title);
	sb_str(b, p == MAILOTPD_PAGE_RESET_DONE ? "<p>" : "<p class=\"error\" role=\"alert\">");
	sb_html(b, tx(in->lang, pages[p].text));
	sb_str(b, "</p>\n");
	/* The completion page leads back to the login (seed 002's
	 * 「ログイン画面へ戻る」) when the site says where that is. */
	if (p == MAILOTPD_PAGE_RESET_DONE && in->cfg->reset_login_url != NULL) {
		sb_str(b, "<p><a href=\"");
		sb_html(b, in->cfg->reset_login_url);
		sb_str(b, "\">");
		sb_html(b, tx(in->lang, T_BACK_LOGIN));
		sb_str(b, "</a></p>\n");
	} else if (link != T_COUNT && in->cfg->reset_public_url != NULL) {
		sb_str(b, "<p><a href=\"");
		sb_html(b, in->cfg->reset_public_url);
		sb_str(b, in->lang_from_query && strcmp(in->lang, "ja") == 0 ? "/?lang=ja" : "/");
		sb_str(b, "\">");
		sb_html(b, tx(in->lang, link));
		sb_str(b, "</a></p>\n");
	}
	html_tail(b);
}

static void render_html(struct sbuf *b, enum mailotpd_page p, const struct mailotpd_page_in *in)
{
	switch (p) {
	case MAILOTPD_PAGE_REQUEST_FORM:
	case MAILOTPD_PAGE_REQUEST_ERROR:
		page_request_form(b, in, p == MAILOTPD_PAGE_REQUEST_ERROR);
		break;
	case MAILOTPD_PAGE_REQUEST_SENT:
		page_request_sent(b, in);
		break;
	case MAILOTPD_PAGE_RESET_FORM:
		page_reset_form(b, in, T_COUNT);
		break;
	case MAILOTPD_PAGE_RESET_ERROR:
		page_reset_form(b, in, T_FORM_ERROR);
		break;
	case MAILOTPD_PAGE_RESET_POLICY:
		page_reset_form(b, in, T_POLICY);
		break;
	case MAILOTPD_PAGE_RESET_DONE:
		page_message(b, in, p, T_BACK);
		break;
	case MAILOTPD_PAGE_BAD_TOKEN:
		page_message(b, in, p, T_NEW_REQUEST);
		break;
	case MAILOTPD_PAGE_FORBIDDEN:
	case MAILOTPD_PAGE_NOT_FOUND:
	case MAILOTPD_PAGE_METHOD:
	case MAILOTPD_PAGE_TOO_BIG:
	case MAILOTPD_PAGE_MEDIA_TYPE:
		page_message(b, in, p, T_BACK);
		break;
	default:
		page_message(b, in, p, T_COUNT);
		break;
	}
}

static void render_json(struct sbuf *b, enum mailotpd_page p, const struct mailotpd_page_in *in)
{
	char msg[1024];
	const char *text;
	const char *field = (unsigned)in->field < sizeof(field_names) / sizeof(field_names[0])
	                        ? field_names[in->field]
	                        : NULL;

	switch (p) {
	case MAILOTPD_PAGE_REQUEST_FORM:
		text = tx(in->lang, in->cfg->reset_request_fields == MAILOTP_FIELDS_REALM_USER_EMAIL
		                        ? T_INTRO_REALM
		                        : T_INTRO_EMAIL);
		break;
	case MAILOTPD_PAGE_REQUEST_SENT:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(msg, sizeof(msg),
		         tx(in->lang, in->cfg->reset_mode == MAILOTP_RESET_TEMPORARY
		                          ? T_SENT_TEMPORARY
		                          : T_SENT_LINK),
		         ttl_minutes(in));
		text = msg;
		break;
	case MAILOTPD_PAGE_RESET_FORM:
		snprintf(msg, sizeof(msg), tx(in->lang, T_RULE), in->cfg->password_min_length,
		         in->cfg->password_min_classes);
#pragma GCC diagnostic pop
		text = msg;
		break;
	case MAILOTPD_PAGE_REQUEST_ERROR:
	case MAILOTPD_PAGE_RESET_ERROR:
	case MAILOTPD_PAGE_RESET_POLICY:
		text = error_text(in, pages[p].text);
		break;
	default:
		text = tx(in->lang, pages[p].text);
		break;
	}
	sb_str(b, "{\"status\":");
	sb_json(b, pages[p].json);
	sb_str(b, ",\"field\":");
	sb_json(b, field);
	sb_str(b, ",\"message\":");
	sb_json(b, text);
	if (in->csrf != NULL &&
	    (p == MAILOTPD_PAGE_REQUEST_FORM || p == MAILOTPD_PAGE_RESET_FORM ||
	     p == MAILOTPD_PAGE_REQUEST_ERROR || p == MAILOTPD_PAGE_RESET_ERROR ||
	     p == MAILOTPD_PAGE_RESET_POLICY)) {
		sb_str(b, ",\"csrf\":");
		sb_json(b, in->csrf);
	}
	sb_str(b, "}\n");
}

int mailotpd_page_render(enum mailotpd_page page, const struct mailotpd_page_in *in, bool json,
                         char **out, size_t *len)
{
	struct sbuf b = {0};

	*out = NULL;
	*len = 0;
	if ((unsigned)page >= MAILOTPD_PAGE_COUNT || in == NULL || in->cfg == NULL ||
	    in->lang == NULL)
		return MAILOTP_ERR_INVALID;
	if (json)
		render_json(&b, page, in);
	else
		render_html(&b, page, in);
	if (b.failed || b.p == NULL) {
		if (b.p != NULL)
			sodium_memzero(b.p, b.cap);
		free(b.p);
		return MAILOTP_ERR_NOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* --- language */

/* The q value of one Accept-Language entry's parameters ("" or ";q=0.5"); -1 when malformed. */
static int q_of(const char *params, size_t n)
{
	int q = 1000, scale = 100;
	size_t i = 0;

	while (i < n && (params[i] == ' ' || params[i] == ';'))
		i++;
	if (i == n)
		return q;
	if (n - i < 3 || (params[i] != 'q' && params[i] != 'Q') || params[i + 1] != '=')
		return -1;
	i += 2;
	if (params[i] == '1')
		return 1000;
	if (params[i] != '0')
		return -1;
	q = 0;
	if (++i < n && params[i] == '.')
		for (i++; i < n && params[i] >= '0' && params[i] <= '9' && scale > 0; i++) {
			q += (params[i] - '0') * scale;
			scale /= 10;
		}
	return q;
}

const char *mailotpd_page_lang(const char *cfg_lang, const char *accept_language, const char *query)
{
	const char *best = NULL, *p = accept_language;
	int best_q = 0;

	if (query != NULL && (strcmp(query, "ja") == 0 || strcmp(query, "en") == 0))
		return strcmp(query, "ja") == 0 ? "ja" : "en";
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ","), tag;
		const char *lang = NULL;
		int q;

		p += strspn(p, " ");
		n = strcspn(p, ",");
		tag = strcspn(p, ";, ");
		if ((tag == 2 || (tag > 2 && p[2] == '-')) && strncasecmp(p, "ja", 2) == 0)
			lang = "ja";
		else if ((tag == 2 || (tag > 2 && p[2] == '-')) && strncasecmp(p, "en", 2) == 0)
			lang = "en";
		q = tag <= n ? q_of(p + tag, n - tag) : -1;
		if (lang != NULL && q > best_q) {
			best = lang;
			best_q = q;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (best != NULL)
		return best;
	return cfg_lang != NULL && strcmp(cfg_lang, "ja") == 0 ? "ja" : "en";
}
