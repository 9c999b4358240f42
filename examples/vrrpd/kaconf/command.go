package kaconf

import (
	"strconv"
	"strings"
)

// Command is a script's command line split into arguments the way
// keepalived 2.2.7 splits it (lib/parser.c alloc_strvec_quoted_escaped),
// and the user it runs as.
//
// keepalived takes the word after the keyword as the whole command line
// — so a command with arguments must be quoted — and splits that again:
// at blanks outside quotes, "..." and '...' grouping (their quotes
// removed, other quotes inside them kept), and backslash escapes
// everywhere, inside single quotes too: \a \b \E \f \n \r \t \v, \NNN
// (octal, up to 3 digits), \xHH... (hex), \cC (control-C), and \C for any
// other C. For notify scripts, one or two words after the command are the
// user and group to run as; vrrp_script takes them from its user keyword.
type Command struct {
	// Args are the program (Args[0]; keepalived searches PATH when it has
	// no '/') and its arguments.
	Args []string
	// User and Group run the command (notify_* ... USER [GROUP], or
	// vrrp_script's user USER [GROUP]). Empty: global script_user, else
	// keepalived's default.
	User  string
	Group string
}

// NotifyArgs returns the arguments keepalived passes to a plain "notify"
// script: the configured ones followed by TYPE NAME STATE PRIORITY, TYPE
// being "INSTANCE" or "GROUP" and STATE one of "MASTER", "BACKUP",
// "FAULT", "STOP" (keepalived.conf(5), vrrp_sync_group). The
// notify_master/backup/fault/stop scripts get the configured arguments
// only (Args).
func (c Command) NotifyArgs(typ, name, state string, priority int) []string {
	out := make([]string, 0, len(c.Args)+4)
	out = append(out, c.Args...)
	return append(out, typ, name, state, strconv.Itoa(priority))
}

// String returns the command as one line that keepalived splits back into
// Args (without the user).
func (c Command) String() string {
	quoted := make([]string, len(c.Args))
	for i, a := range c.Args {
		quoted[i] = quoteArg(a)
	}
	return strings.Join(quoted, " ")
}

// quoteArg quotes one argument for keepalived's second split: plain when
// it needs nothing, else in single quotes, inside which only a backslash
// and a single quote need escaping.
func quoteArg(a string) string {
	plain := a != ""
	for i := 0; i < len(a) && plain; i++ {
		c := a[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(`"'\#!{}$@~;`, c) >= 0 {
			plain = false
		}
	}
	if plain {
		return a
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(a); i++ {
		if c := a[i]; c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(a[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// splitQuoted splits text as keepalived's alloc_strvec_quoted_escaped
// does (see Command). A NUL produced by an escape ends its word, as in C.
func splitQuoted(text string) ([]string, string) {
	var words []string
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			return words, ""
		}
		var w []byte
		var quote byte
		for i < len(text) {
			c := text[i]
			if quote == 0 && isSpace(c) {
				break
			}
			if c == '\\' {
				i++
				if i == len(text) {
					return nil, "escape character at the end of the line"
				}
				var out byte
				out, i = unescape(text, i)
				w = append(w, out)
				continue
			}
			i++
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			default:
				w = append(w, c)
			}
		}
		if quote != 0 {
			return nil, "missing terminating " + string(quote)
		}
		if n := strings.IndexByte(string(w), 0); n >= 0 {
			w = w[:n]
		}
		words = append(words, string(w))
	}
}

// unescape decodes the escape whose first character (after the backslash)
// is text[i], returning the byte and the index after the escape.
// Arithmetic wraps at 8 bits, as on keepalived's char.
func unescape(text string, i int) (byte, int) {
	c := text[i]
	switch {
	case c == 'x' && i+1 < len(text) && isHex(text[i+1]):
		var v byte
		i++
		for i < len(text) && isHex(text[i]) {
			v = v<<4 | hexVal(text[i])
			i++
		}
		return v, i
	case c == 'c' && i+1 < len(text):
		return text[i+1] & 0x1f, i + 2
	case c >= '0' && c <= '7':
		v := c - '0'
		i++
		for n := 0; n < 2 && i < len(text) && text[i] >= '0' && text[i] <= '7'; n++ {
			v = v<<3 + (text[i] - '0')
			i++
		}
		return v, i
	}
	switch c {
	case 'a':
		c = '\a'
	case 'b':
		c = '\b'
	case 'E':
		c = 0x1b
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'v':
		c = '\v'
	}
	return c, i + 1
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
