package kaconf

import (
	"fmt"
	"strings"
)

// Pos is a place in a configuration file.
type Pos struct {
	// File is the file's name as given to Load or Parse, or for an
	// included file the including file's directory joined with the
	// include pattern's match.
	File string
	// Line is 1-based. Lines produced by a multi-line $NAME definition
	// carry the line where the definition was used.
	Line int
}

// String returns "file:line".
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Diagnostic is one error or warning about a configuration.
type Diagnostic struct {
	Pos Pos
	// Keyword is the keyword at fault ("virtual_router_id"), or empty when
	// the message is about the file or a block as a whole.
	Keyword string
	Msg     string
}

// String returns "file:line: keyword: message".
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Pos != (Pos{}) {
		b.WriteString(d.Pos.String())
		b.WriteString(": ")
	}
	if d.Keyword != "" {
		b.WriteString(d.Keyword)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Error is what Load and Parse return when a configuration cannot run:
// every error found — syntax and values in file order, then what the
// checks across blocks found — and the warnings seen on the way.
type Error struct {
	Errors   []Diagnostic
	Warnings []Diagnostic
}

// Error lists every error, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Errors))
	for i, d := range e.Errors {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diags collects diagnostics while a configuration is read.
type diags struct {
	errs  []Diagnostic
	warns []Diagnostic
}

func (d *diags) errorf(pos Pos, keyword, format string, args ...any) {
	d.errs = append(d.errs, Diagnostic{Pos: pos, Keyword: keyword, Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) warnf(pos Pos, keyword, format string, args ...any) {
	d.warns = append(d.warns, Diagnostic{Pos: pos, Keyword: keyword, Msg: fmt.Sprintf(format, args...)})
}
