package kaconf

import (
	"bytes"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// maxLine is the longest line keepalived reads whole: it reads with
// fgets into a 1024-byte buffer, so a longer line is silently cut in two
// and its tail read as a line of its own.
const maxLine = 1023

// maxIncludeDepth bounds nested includes; keepalived has no bound and
// crashes on a cycle.
const maxIncludeDepth = 32

// maxIncludedFiles bounds how many files (each time a file is included
// counts) one load reads in: files that include each other twice, nested
// 32 deep, would otherwise expand to 2^32.
const maxIncludedFiles = 10000

// statement is one logical line of configuration after keepalived's
// preprocessing (lib/parser.c read_line): comments removed, @config-id
// lines selected, $NAME definitions made and substituted, includes read,
// and the line split at every '{' and '}' outside double quotes, so that a
// brace is always a statement of its own.
type statement struct {
	pos Pos
	// text is the statement as a string: script commands are split again
	// from it with keepalived's quoting and escapes.
	text string
	// words is text split at blanks, "..." being one word without its
	// quotes (keepalived's alloc_strvec).
	words []string
	// brace is '{' or '}' for a lone brace, 0 otherwise.
	brace byte
	// dir is the fs path of the directory of the file the statement is
	// in: where a relative file: key is read from.
	dir string
}

// definition is a $NAME=VALUE parameter (keepalived.conf(5), "Parameter
// substitution"). A multi-line value has its lines separated by '\n'.
type definition struct {
	value     string
	multiline bool
}

// source turns configuration files into statements.
type source struct {
	fsys     fs.FS
	configID string
	env      func(string) (string, bool)
	d        *diags

	defs  map[string]*definition
	multi *definition // multi-line definition being read, if any
	open  []string    // fs paths of the files being read, outermost first
	dir   string      // fs path of the current file's directory, for ${_PWD}
	stmts []statement
	// budget bounds the substitutions and multi-line expansion lines of
	// one physical line: keepalived loops forever on $A=$A, and on a
	// multi-line definition that uses itself.
	budget int

	// The file system is read once per load: each glob and each file
	// (stat and contents) is looked up at its first use only.
	globs map[string][]string
	files map[string]*included
	// expanded counts the files read in, each inclusion once.
	expanded int
	// cycle is set once an include names a file being read. The load
	// has failed then, and a file is no longer read in twice: files whose
	// globs include each other would otherwise be read once per
	// permutation.
	cycle bool
}

// included is one file of the file system as the load first saw it.
type included struct {
	info fs.FileInfo
	data []byte
	err  error
	read bool // read in at least once
}

func newSource(fsys fs.FS, configID string, env func(string) (string, bool), d *diags) *source {
	return &source{fsys: fsys, configID: configID, env: env, d: d, defs: map[string]*definition{},
		globs: map[string][]string{}, files: map[string]*included{}}
}

// glob is fs.Glob, once per pattern and load.
func (s *source) glob(pattern string) ([]string, error) {
	if m, ok := s.globs[pattern]; ok {
		return m, nil
	}
	m, err := fs.Glob(s.fsys, pattern)
	if err != nil {
		return nil, err
	}
	s.globs[pattern] = m
	return m, nil
}

// file stats fsPath and, if it is a regular file, reads it, once per
// load.
func (s *source) file(fsPath string) *included {
	if f, ok := s.files[fsPath]; ok {
		return f
	}
	f := &included{}
	s.files[fsPath] = f
	if f.info, f.err = fs.Stat(s.fsys, fsPath); f.err != nil || !f.info.Mode().IsRegular() {
		return f
	}
	f.data, f.err = fs.ReadFile(s.fsys, fsPath)
	return f
}

// readFile reads one file whose contents are data. fsPath is its path in
// s.fsys; display names it in diagnostics.
func (s *source) readFile(fsPath, display string, data []byte) {
	if len(s.open) >= maxIncludeDepth {
		s.d.errorf(Pos{File: display}, "", "includes nested more than %d deep", maxIncludeDepth)
		return
	}
	if f := s.files[fsPath]; f == nil {
		// The top file: an include naming it finds it read.
		s.files[fsPath] = &included{data: data, read: true}
	} else {
		f.read = true
	}
	prevDir := s.dir
	s.open = append(s.open, fsPath)
	s.dir = path.Dir(fsPath)
	defer func() {
		s.open = s.open[:len(s.open)-1]
		s.dir = prevDir
	}()

	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		s.d.errorf(Pos{File: display, Line: line}, "", "NUL byte in configuration file")
		return
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		pos := Pos{File: display, Line: i + 1}
		raw = strings.TrimRight(raw, "\r")
		if len(raw) > maxLine {
			s.d.errorf(pos, "", "line is %d bytes long; keepalived reads at most %d and would cut it in two", len(raw), maxLine)
			continue
		}
		if s.multi != nil {
			s.continueDefinition(raw, pos)
			continue
		}
		if raw == "" {
			continue
		}
		text, cont, unterminated := decomment(raw)
		if unterminated {
			s.d.errorf(pos, firstWord(text), "unterminated quote")
			continue
		}
		if text == "" {
			continue
		}
		s.budget = maxSubstitutions
		s.line(text, cont, pos)
	}
	s.endDefinition()
}

// continueDefinition adds one physical line to the multi-line definition
// being read. An empty line, or one that is empty once its comment is
// removed, ends the definition; so does a line not ending with '\', after
// being added.
func (s *source) continueDefinition(raw string, pos Pos) {
	if raw == "" {
		s.endDefinition()
		return
	}
	text, cont, unterminated := decomment(raw)
	if unterminated {
		s.d.errorf(pos, "", "unterminated quote in a multi-line $definition")
		s.endDefinition()
		return
	}
	if text == "" {
		s.endDefinition()
		return
	}
	if cont {
		text = strings.TrimRight(text[:len(text)-1], " \t")
		if text != "" {
			s.multi.value += text + "\n"
		}
		return
	}
	s.multi.value += text
	s.endDefinition()
}

func (s *source) endDefinition() {
	if s.multi != nil && s.multi.value == "" {
		s.multi.multiline = false
	}
	s.multi = nil
}

// decomment removes a line's comment and its leading and trailing blanks
// as keepalived's decomment() does: '#' and '!' start a comment anywhere
// outside double quotes (single quotes do not protect them), "\#" and "\!"
// outside double quotes stand for the characters themselves, and any
// other backslash keeps the character after it from being seen. A
// backslash ending the line is kept as the last character of text and
// reported as cont; keepalived only honours it in $NAME= definitions.
func decomment(line string) (text string, cont, unterminated bool) {
	s := strings.TrimLeft(line, " \t")
	b := make([]byte, 0, len(s))
	quote := false
	comment := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			if comment < 0 {
				quote = !quote
			}
		case '\\':
			if i+1 == len(s) {
				cont = true
				i = len(s)
				continue
			}
			next := s[i+1]
			i++
			if !quote && (next == '#' || next == '!') {
				b = append(b, next)
			} else {
				b = append(b, c, next)
			}
			continue
		case '#', '!':
			if !quote && comment < 0 {
				comment = len(b)
			}
		}
		b = append(b, c)
	}
	if comment >= 0 {
		b = b[:comment]
	}
	text = strings.TrimRight(string(b), " \t")
	if cont {
		text += `\`
	}
	return text, cont, quote
}

// line runs one decommented line through keepalived's read_line: the
// @config-id condition, $NAME definitions and substitution, include, and
// the split at braces. cont says the physical line ended with '\'.
func (s *source) line(text string, cont bool, pos Pos) {
	var rest []string // further lines of multi-line substitutions
	for text != "" {
		if text[0] == '@' {
			t, ok := s.conditional(text)
			if !ok {
				text = ""
				break
			}
			text = t
			if text == "" {
				break
			}
		}
		if text[0] == '$' {
			if name, value, multi, ok := parseDefinition(text); ok {
				def := &definition{value: value, multiline: multi}
				s.defs[name] = def
				if multi {
					s.multi = def
				}
				text = ""
				break
			}
		}
		if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
			s.d.errorf(pos, text[:4], "keepalived's sequence and list blocks are not supported by vrrpd: write the lines out")
			text = ""
			break
		}
		if text[0] == '~' {
			break
		}
		if !strings.Contains(text, "$") {
			break
		}
		t, more, changed, ok := s.substitute(text, pos)
		if !ok {
			text = ""
			break
		}
		rest = append(more, rest...)
		if !changed {
			break
		}
		text = t
		if text == "" || (text[0] != '@' && !strings.Contains(text, "$")) {
			break
		}
	}
	if text != "" {
		if cont {
			s.d.errorf(pos, firstWord(text), `'\' at the end of a line continues only $NAME= definitions; keepalived 2.2.7 misreads this line`)
		} else if !s.include(text, pos) {
			s.emit(text, pos)
		}
	}
	for _, r := range rest {
		if s.budget--; s.budget < 0 {
			s.d.errorf(pos, "", "parameter substitution does not terminate")
			return
		}
		s.line(r, false, pos)
	}
}

// conditional applies "@id line" (keep the line when the config id is id)
// and "@^id line" (keep it when it is not).
func (s *source) conditional(text string) (string, bool) {
	ofs := 1
	negate := len(text) > 1 && text[1] == '^'
	if negate {
		ofs = 2
	}
	sp := strings.IndexAny(text[ofs:], " \t")
	if sp < 0 {
		return "", false
	}
	id := text[ofs : ofs+sp]
	mismatch := s.configID == "" || id != s.configID
	if mismatch != negate {
		return "", false
	}
	return strings.TrimLeft(text[ofs+sp:], " \t"), true
}

// parseDefinition recognises "$NAME=VALUE" (no blank before '='). A value
// ending with '\' starts a multi-line definition.
func parseDefinition(text string) (name, value string, multi, ok bool) {
	if len(text) < 2 || text[0] != '$' || !isNameStart(text[1]) {
		return "", "", false, false
	}
	p := 2
	for p < len(text) && text[p] != '=' {
		if !isNameChar(text[p]) {
			return "", "", false, false
		}
		p++
	}
	if p == len(text) {
		return "", "", false, false
	}
	name = text[1:p]
	value = strings.TrimLeft(text[p+1:], " \t")
	if strings.HasSuffix(value, `\`) {
		multi = true
		value = strings.TrimRight(value[:len(value)-1], " \t")
		if value != "" {
			value += "\n"
		}
	}
	return name, value, multi, true
}

// maxSubstitutions bounds the substitutions made for one line.
const maxSubstitutions = 1000

// substitute replaces $NAME and ${NAME} by the definitions' values the way
// keepalived's replace_param does: scanning resumes at the replacement, so
// values are substituted recursively; undefined names stay as they are; a
// multi-line definition is only substituted at the end of a line, its first
// line in place and its other lines returned in more.
func (s *source) substitute(text string, pos Pos) (out string, more []string, changed, ok bool) {
	i := 0
	n := 0
	for {
		j := strings.IndexByte(text[i:], '$')
		if j < 0 {
			break
		}
		i += j
		if i+1 >= len(text) {
			break
		}
		name, arg, end, atEnd, params, found := parseReference(text, i)
		if !found {
			i++
			continue
		}
		value, multiline, defined, failed := s.lookup(name, arg, params, pos)
		if failed {
			return "", nil, false, false
		}
		if !defined || (multiline && !atEnd) {
			i++
			continue
		}
		if n++; n > maxSubstitutions || s.budget <= 0 {
			s.d.errorf(pos, "$"+name, "parameter substitution does not terminate")
			return "", nil, false, false
		}
		s.budget--
		if multiline {
			lines := strings.Split(value, "\n")
			value = lines[0]
			more = append(lines[1:], more...)
		}
		text = text[:i] + value + text[end:]
		changed = true
		if len(text) > maxLine {
			s.d.errorf(pos, "$"+name, "parameter substitution makes the line longer than keepalived's %d bytes", maxLine)
			return "", nil, false, false
		}
		if v := strings.TrimLeft(value, " \t"); strings.HasPrefix(v, "~") {
			break
		}
	}
	return text, more, changed, true
}

// parseReference parses the reference starting with the '$' at text[i].
// params reports digits after the name inside braces (${_RANDOM 1 10});
// arg is the variable name of ${_ENV NAME}.
func parseReference(text string, i int) (name, arg string, end int, atEnd, params, ok bool) {
	j := i + 1
	braces := text[j] == '{'
	if braces {
		j++
	}
	start := j
	if j >= len(text) || !isNameStart(text[j]) {
		return "", "", 0, false, false, false
	}
	for j < len(text) && isNameChar(text[j]) {
		j++
	}
	name = text[start:j]
	if !braces {
		if j < len(text) && !strings.ContainsRune(" \t,)", rune(text[j])) {
			return "", "", 0, false, false, false
		}
		return name, "", j, j == len(text), false, true
	}
	if name == "_ENV" {
		k := j
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k == j || k >= len(text) || !isNameStart(text[k]) {
			return "", "", 0, false, false, false
		}
		a := k
		for k < len(text) && isNameChar(text[k]) {
			k++
		}
		arg = text[a:k]
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k >= len(text) || text[k] != '}' {
			return "", "", 0, false, false, false
		}
		return name, arg, k + 1, k+1 == len(text), false, true
	}
	k := j
	last := -1
	for k < len(text) && (text[k] == ' ' || isDigit(text[k])) {
		if text[k] != ' ' {
			last = k
			params = true
		}
		k++
	}
	if params && last+1 != k {
		return "", "", 0, false, false, false
	}
	if k >= len(text) || text[k] != '}' {
		return "", "", 0, false, false, false
	}
	return name, "", k + 1, k+1 == len(text), params, true
}

// lookup returns a definition's value: the configuration's own first, then
// keepalived's predefined ones.
// failed reports an error (already recorded) that drops the line.
func (s *source) lookup(name, arg string, params bool, pos Pos) (value string, multiline, ok, failed bool) {
	if arg != "" {
		// ${_ENV NAME} (keepalived 2.4). keepalived substitutes an unset
		// variable silently by nothing, which would make, say, a key's
		// file:${_ENV CREDENTIALS_DIRECTORY}/key read /key.
		v, set := s.env(arg)
		if !set {
			s.d.errorf(pos, "${_ENV "+arg+"}", "environment variable %s is not set (keepalived would substitute an empty string)", arg)
			return "", false, false, true
		}
		return v, false, true, false
	}
	if def, found := s.defs[name]; found {
		if params {
			return "", false, false, false
		}
		return def.value, def.multiline, true, false
	}
	switch name {
	case "_PWD":
		return "/" + s.dir, false, !params, false
	case "_INSTANCE":
		return s.configID, false, !params, false
	case "_HASH":
		return "#", false, !params, false
	case "_BANG":
		return "!", false, !params, false
	case "_RANDOM":
		s.d.errorf(pos, "${_RANDOM}", "random values are not supported by vrrpd: the configuration would differ at each reload")
		return "", false, false, true
	}
	return "", false, false, false
}

// emit splits text at its first brace outside double quotes and records
// the part before it; the rest is read as a line of its own, as
// keepalived does with its line_residue.
func (s *source) emit(text string, pos Pos) {
	head, residue := braceSplit(text)
	switch head {
	case "":
	case "{", "}":
		s.stmts = append(s.stmts, statement{pos: pos, text: head, words: []string{head}, brace: head[0], dir: s.dir})
	default:
		words, ok := splitWords(head)
		if !ok {
			s.d.errorf(pos, firstWord(head), "unmatched quote")
		} else if len(words) > 0 {
			s.stmts = append(s.stmts, statement{pos: pos, text: head, words: words, dir: s.dir})
		}
	}
	if residue != "" {
		s.line(residue, false, pos)
	}
}

// braceSplit returns the text before the first '{' or '}' that is not
// inside double quotes and the rest, starting with that brace; a line
// starting with a brace returns the brace alone.
func braceSplit(text string) (head, residue string) {
	p := -1
	if text[0] == '{' || text[0] == '}' {
		p = 0
	} else {
	scan:
		for i := 0; i < len(text); i++ {
			switch text[i] {
			case '"':
				j := strings.IndexByte(text[i+1:], '"')
				if j < 0 {
					break scan
				}
				i += j + 1
			case '{', '}':
				p = i
				break scan
			}
		}
	}
	if p < 0 {
		return strings.TrimRight(text, " \t"), ""
	}
	if p == 0 {
		return text[:1], strings.TrimRight(strings.TrimLeft(text[1:], " \t"), " \t")
	}
	return strings.TrimRight(text[:p], " \t"), strings.TrimRight(text[p:], " \t")
}

// splitWords splits at white space, a double-quoted string being one word
// without its quotes (keepalived's alloc_strvec). ok is false for an
// unmatched '"'.
func splitWords(text string) (words []string, ok bool) {
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			return words, true
		}
		if text[i] == '"' {
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				return words, false
			}
			words = append(words, text[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(text) && !isSpace(text[j]) && text[j] != '"' {
			j++
		}
		words = append(words, text[i:j])
		i = j
	}
}

// include reads the files named by an include line; it reports false when
// the line is not one. keepalived's variants (includer, includem,
// includew, includeb, includea) turn a missing file into an error, plain
// include only warns.
func (s *source) include(text string, pos Pos) bool {
	if !strings.HasPrefix(text, "include") {
		return false
	}
	words, ok := splitWords(text)
	if !ok || len(words) != 2 {
		return false
	}
	kw := words[0]
	switch kw {
	case "include", "includer", "includem", "includew", "includeb", "includea":
	default:
		return false
	}
	pattern := words[1]
	displayDir := filepath.Dir(pos.File)

	patterns, ok := expandBraces(pattern)
	if !ok {
		s.d.errorf(pos, kw, "%q expands to more than %d patterns", pattern, maxBraceExpansions)
		return true
	}
	var matches []string
	seen := map[string]bool{}
	for _, p := range patterns {
		full := p
		if !path.IsAbs(p) {
			full = path.Join("/"+s.dir, p)
		}
		fsPattern := strings.TrimPrefix(path.Clean(full), "/")
		if fsPattern == "" {
			fsPattern = "."
		}
		m, err := s.glob(fsPattern)
		if err != nil {
			s.d.errorf(pos, kw, "bad pattern %q: %v", pattern, err)
			return true
		}
		for _, f := range m {
			if !seen[f] && !hiddenMismatch(fsPattern, f) {
				seen[f] = true
				matches = append(matches, f)
			}
		}
	}
	files := 0
	for _, m := range matches {
		f := s.file(m)
		info, err := f.info, f.err
		if info == nil {
			s.d.errorf(pos, kw, "%s: %v", m, err)
			continue
		}
		if info.IsDir() {
			continue
		}
		display := "/" + m
		if !path.IsAbs(pattern) {
			if rel, err := filepath.Rel("/"+s.dir, "/"+m); err == nil {
				display = filepath.Join(displayDir, rel)
			}
		}
		if !info.Mode().IsRegular() || info.Mode()&0o111 != 0 {
			if kw == "include" {
				s.d.warnf(pos, kw, "%s is not a regular non-executable file: skipped, as keepalived does", display)
			} else {
				s.d.errorf(pos, kw, "%s is not a regular non-executable file", display)
			}
			continue
		}
		files++
		if s.isOpen(m) {
			s.d.errorf(pos, kw, "%s includes itself", display)
			s.cycle = true
			continue
		}
		if err != nil {
			s.d.errorf(pos, kw, "%v", err)
			continue
		}
		if s.cycle && f.read {
			continue // the load has failed already; reading it again adds nothing
		}
		if s.expanded++; s.expanded > maxIncludedFiles {
			if s.expanded == maxIncludedFiles+1 {
				s.d.errorf(pos, kw, "includes read in more than %d files (a file included from several places counts each time)", maxIncludedFiles)
			}
			continue
		}
		s.readFile(m, display, f.data)
	}
	if files == 0 {
		if kw == "include" {
			s.d.warnf(pos, kw, "no file matches %q", pattern)
		} else {
			s.d.errorf(pos, kw, "no file matches %q", pattern)
		}
	}
	return true
}

func (s *source) isOpen(fsPath string) bool {
	for _, o := range s.open {
		if o == fsPath {
			return true
		}
	}
	return false
}

// hiddenMismatch reports a match that glob(3) would not make: a '*' or
// '?' there never matches a leading '.' of a file name, Go's fs.Glob does.
func hiddenMismatch(pattern, match string) bool {
	pe := strings.Split(pattern, "/")
	me := strings.Split(match, "/")
	if len(pe) != len(me) {
		return false
	}
	for i := range me {
		if strings.HasPrefix(me[i], ".") && !strings.HasPrefix(pe[i], ".") {
			return true
		}
	}
	return false
}

// maxBraceExpansions bounds csh-style brace expansion of include patterns.
const maxBraceExpansions = 256

// expandBraces expands csh-style braces as glob(3) with GLOB_BRACE does:
// "a{b,c{d,e}}f" is abf, acdf, acef. An unmatched '{' is literal.
func expandBraces(p string) ([]string, bool) {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}, true
	}
	depth := 0
	end := -1
	var commas []int
	for i := open; i < len(p) && end < 0; i++ {
		switch p[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if end < 0 {
		return []string{p}, true
	}
	var alts []string
	start := open + 1
	for _, c := range commas {
		alts = append(alts, p[start:c])
		start = c + 1
	}
	alts = append(alts, p[start:end])
	var out []string
	for _, a := range alts {
		sub, ok := expandBraces(p[:open] + a + p[end+1:])
		if !ok {
			return nil, false
		}
		out = append(out, sub...)
		if len(out) > maxBraceExpansions {
			return nil, false
		}
	}
	return out, true
}

func firstWord(text string) string {
	if w, _ := splitWords(text); len(w) > 0 {
		return w[0]
	}
	return ""
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) }
