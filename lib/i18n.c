/* PAM conversation texts in en and ja (see i18n.h for why a table). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "i18n.h"

struct text {
	const char *en;
	const char *ja;
};

static const struct text texts[MAILOTP_TXT_COUNT] = {
    [MAILOTP_TXT_CODE_SENT] = {"A one-time code has been sent to %s.",
                               "%s 宛にワンタイムパスワードを送信しました。"},
    [MAILOTP_TXT_CODE_PROMPT] = {"One-time code: ", "ワンタイムパスワード: "},
    [MAILOTP_TXT_CODE_SENT_COMBINED] =
        {"A one-time code has been sent to %s. Sign in again with your "
         "password followed directly by the code.",
         "%s 宛にワンタイムパスワードを送信しました。パスワードの直後に続けて"
         "ワンタイムパスワードを入力し、もう一度サインインしてください。"},
    [MAILOTP_TXT_CODE_STALE] =
        {"This one-time code is no longer valid. Sign in with your password "
         "alone to get a new one.",
         "このワンタイムパスワードは使用できません。パスワードのみでサインインし、"
         "新しいワンタイムパスワードを受け取ってください。"},
    [MAILOTP_TXT_CODE_WRONG] = {"Wrong code. Tries left: %d.",
                                "ワンタイムパスワードが違います。残りの入力回数: %d 回。"},
    [MAILOTP_TXT_CODE_EXPIRED] =
        {"The one-time code has expired. Please log in again.",
         "ワンタイムパスワードの有効期限が切れました。もう一度ログインしてください。"},
    [MAILOTP_TXT_MAXTRIES] =
        {"Too many wrong codes. Please log in again.",
         "ワンタイムパスワードの誤りが多すぎます。もう一度ログインしてください。"},
    [MAILOTP_TXT_NO_MAIL] =
        {"No e-mail address is registered for this account, so no "
         "one-time code can be sent. Please contact your administrator.",
         "このアカウントにはメールアドレスが登録されていないため、ワンタイムパスワ"
         "ードを送信できません。管理者にお問い合わせください。"},
    [MAILOTP_TXT_MAIL_FAILED] =
        {"The one-time code could not be sent. Please try again "
         "later or contact your administrator.",
         "ワンタイムパスワードを送信できませんでした。しばらくしてから再度お試しいた"
         "だくか、管理者にお問い合わせください。"},
    [MAILOTP_TXT_THROTTLED] =
        {"A one-time code was sent a moment ago. Please wait %d "
         "seconds and log in again.",
         "ワンタイムパスワードを送信したばかりです。%d 秒待ってから再度ログインして"
         "ください。"},
    [MAILOTP_TXT_LOCKED] =
        {"Too many wrong codes have been entered for this account. Please "
         "try again later or contact your administrator.",
         "このアカウントでワンタイムパスワードの誤りが続いたため、一時的にログイン"
         "できません。しばらくしてから再度お試しいただくか、管理者にお問い合わせくだ"
         "さい。"},
    [MAILOTP_TXT_TEMP_EXPIRED] =
        {"Your temporary password has expired. Please ask for a new "
         "one.",
         "仮パスワードの有効期限が切れています。パスワードの再発行をもう一度お申し"
         "込みください。"},
    [MAILOTP_TXT_RESET_MISSING] = {"Please fill in every field.",
                                   "すべての項目を入力してください。"},
    [MAILOTP_TXT_RESET_BAD_EMAIL] = {"Please enter a valid e-mail address.",
                                     "正しいメールアドレスを入力してください。"},
    [MAILOTP_TXT_RESET_EMAIL_MISMATCH] =
        {"The two e-mail addresses do not match.",
         "メールアドレスとメールアドレス（確認用）が一致しません。"},
    [MAILOTP_TXT_RESET_SENT_LINK] =
        {"If the address belongs to an account, a mail with a link to "
         "set a new password is on its way. The link is valid for %d "
         "minutes.",
         "入力されたメールアドレスがアカウントに登録されている場合、パスワード"
         "再設定用のURLを記載したメールを送信しました。URLの有効期限は %d 分で"
         "す。"},
    [MAILOTP_TXT_RESET_SENT_TEMP] =
        {"If the details match an account, a temporary password is on "
         "its way to its e-mail address. It is valid for %d minutes; "
         "after logging in with it you must set a new password.",
         "入力内容が登録されているアカウントと一致する場合、登録メールアドレス宛に"
         "再発行パスワードを送信しました。再発行パスワードの有効時間は %d 分です。"
         "ログイン後、パスワードを変更してください。"},
    [MAILOTP_TXT_RESET_PW_MISMATCH] = {"The two passwords do not match.",
                                       "パスワードとパスワード（確認用）が一致しません。"},
    [MAILOTP_TXT_RESET_BAD_TOKEN] =
        {"This link is no longer valid: it was used, replaced by a "
         "newer one, or has expired. Please ask for a new one.",
         "このURLは無効です（使用済み、新しいURLの発行、または有効期限切れ）。"
         "もう一度お申し込みください。"},
    [MAILOTP_TXT_RESET_UNAVAILABLE] =
        {"The service is unavailable right now; nothing was "
         "changed. Please try again later.",
         "現在サービスを利用できません。変更は行われていません。しばらくしてから"
         "再度お試しください。"},
    [MAILOTP_TXT_RESET_DONE] = {"Your new password is set.", "パスワードの設定が完了しました。"},
    [MAILOTP_TXT_MUST_CHANGE] =
        {"You must set a new password now.",
         "パスワードの変更が必要です。新しいパスワードを設定してください。"},
    [MAILOTP_TXT_OLD_WRONG] = {"The current password is wrong.", "現在のパスワードが違います。"},
    [MAILOTP_TXT_SAME_PASSWORD] =
        {"The new password must differ from the current one.",
         "新しいパスワードには現在と異なるパスワードを設定してください。"},
    [MAILOTP_TXT_PASSWORD_CHANGED] = {"Your password has been changed.",
                                      "パスワードを変更しました。"},
    [MAILOTP_TXT_CONSENT_PROMPT] =
        {"Do you accept the terms of use and the privacy policy "
         "above? Type yes to accept: ",
         "上記の利用規約・プライバシーポリシーに同意しますか？同意する場合は「はい」"
         "と入力してください: "},
    [MAILOTP_TXT_CONSENT_REFUSED] =
        {"You cannot log in without accepting the terms of use and "
         "the privacy policy.",
         "利用規約・プライバシーポリシーに同意いただけない場合はログインできません。"},
    [MAILOTP_TXT_PW_EXPIRED] =
        {"Your password has expired. Please set a new one on the "
         "password reset page.",
         "パスワードの有効期限が切れています。パスワードリセット画面から新しいパスワー"
         "ドを設定してください。"},
    [MAILOTP_TXT_PW_GRACE] =
        {"Your password has expired; logins left before it stops working: "
         "%d. Set a new one now.",
         "パスワードの有効期限が切れています（残りのログイン可能回数: %d 回）。新しい"
         "パスワードを設定してください。"},
    [MAILOTP_TXT_PW_ADMIN_RESET] =
        {"Your password was reset by an administrator: set a new one "
         "now.",
         "管理者によりパスワードがリセットされました。新しいパスワードを設定してく"
         "ださい。"},
};

const char *mailotp_lang_pick(const char *lang)
{
	if (lang != NULL && strncasecmp(lang, "ja", 2) == 0)
		return "ja";
	return "en";
}

const char *mailotp_text(const char *lang, enum mailotp_text_id id)
{
	if ((unsigned)id >= MAILOTP_TXT_COUNT)
		return "";
	return lang != NULL && strcmp(mailotp_lang_pick(lang), "ja") == 0 ? texts[id].ja
	                                                                  : texts[id].en;
}

char *mailotp_textf(char *buf, size_t len, const char *lang, enum mailotp_text_id id, ...)
{
	va_list ap;

	if (len == 0)
		return buf;
	va_start(ap, id);
	/* The formats are the constants of the table above, each pinned by the
	 * unit test to the conversions its id documents. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(buf, len, mailotp_text(lang, id), ap);
#pragma GCC diagnostic pop
	va_end(ap);
	return buf;
}
