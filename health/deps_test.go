package health

import (
	"go/build"
	"strings"
	"testing"
)

// TestNoHTTPStack: health must not import net/http or crypto/tls itself;
// the HTTP check lives in health/httpcheck for the programs that want it.
// (go.uber.org/zap imports net/http, so a program that links zap carries
// it anyway; health must not be a second reason.)
func TestNoHTTPStack(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "net/http" || imp == "crypto/tls" || strings.HasPrefix(imp, "net/http/") {
			t.Errorf("health imports %s", imp)
		}
	}
}
