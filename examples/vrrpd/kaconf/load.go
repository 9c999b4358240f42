package kaconf

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Options adjusts how a configuration is read. A nil *Options means the
// defaults.
type Options struct {
	// ConfigID selects the "@ID ..." and "@^ID ..." lines, like
	// keepalived's -i/--config-id. Default: the host name up to its first
	// '.', as keepalived.
	ConfigID string
	// FS is where the configuration, its includes and its file: keys are
	// read from, with
	// the leading '/' of absolute paths removed (fstest.MapFS{"etc/
	// keepalived/keepalived.conf": ...}); relative names are relative to
	// its root. Default: the operating system's files, relative names
	// being relative to the working directory.
	FS fs.FS
	// LookupEnv is where ${_ENV NAME} (keepalived 2.4) finds NAME.
	// Default: the process environment (os.LookupEnv).
	LookupEnv func(name string) (string, bool)
}

// Load reads the keepalived.conf called name and the files it includes.
// The error, if any, is an *Error listing every problem with its file,
// line and keyword; a configuration with errors is never returned, since
// keepalived would run it differently from what it says or not at all.
// Warnings are in the Config (or the *Error).
func Load(name string, opts *Options) (*Config, error) {
	fsys, fsPath, configID, err := resolve(name, opts)
	if err != nil {
		return nil, err
	}
	env := lookupEnv(opts)
	d := &diags{}
	info, err := fs.Stat(fsys, fsPath)
	if err != nil {
		d.errorf(Pos{File: name}, "", "%v", unwrapPath(err))
		return nil, &Error{Errors: d.errs}
	}
	if !info.Mode().IsRegular() || info.Mode()&0o111 != 0 {
		d.errorf(Pos{File: name}, "", "not a regular non-executable file (keepalived refuses it)")
		return nil, &Error{Errors: d.errs}
	}
	data, err := fs.ReadFile(fsys, fsPath)
	if err != nil {
		d.errorf(Pos{File: name}, "", "%v", unwrapPath(err))
		return nil, &Error{Errors: d.errs}
	}
	return parse(fsys, fsPath, name, configID, env, data, d)
}

// Parse reads a keepalived.conf from src; name names it in diagnostics and
// is where relative includes start from. See Load.
func Parse(name string, src []byte, opts *Options) (*Config, error) {
	fsys, fsPath, configID, err := resolve(name, opts)
	if err != nil {
		return nil, err
	}
	return parse(fsys, fsPath, name, configID, lookupEnv(opts), src, &diags{})
}

func lookupEnv(opts *Options) func(string) (string, bool) {
	if opts != nil && opts.LookupEnv != nil {
		return opts.LookupEnv
	}
	return os.LookupEnv
}

func parse(fsys fs.FS, fsPath, name, configID string, env func(string) (string, bool), src []byte, d *diags) (*Config, error) {
	s := newSource(fsys, configID, env, d)
	s.readFile(fsPath, name, src)
	tree := buildTree(s.stmts, d)
	cfg := interpret(tree, fsys, d)
	if len(d.errs) > 0 {
		return nil, &Error{Errors: d.errs, Warnings: d.warns}
	}
	cfg.Warnings = d.warns
	return cfg, nil
}

// resolve picks the file system, the file's path in it and the config id.
func resolve(name string, opts *Options) (fsys fs.FS, fsPath, configID string, err error) {
	if opts != nil {
		fsys = opts.FS
		configID = opts.ConfigID
	}
	if fsys == nil {
		abs, err := filepath.Abs(name)
		if err != nil {
			return nil, "", "", err
		}
		fsys = os.DirFS("/")
		fsPath = strings.TrimPrefix(filepath.ToSlash(abs), "/")
	} else {
		fsPath = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	}
	if fsPath == "" {
		fsPath = "."
	}
	if configID == "" {
		host, _ := os.Hostname()
		configID, _, _ = strings.Cut(host, ".")
	}
	return fsys, fsPath, configID, nil
}

// unwrapPath drops the fs path from a *fs.PathError: diagnostics already
// name the file as the user wrote it.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
