package httpcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vrrpkit/vrrpkit/health"
	"github.com/vrrpkit/vrrpkit/health/httpcheck"
)

// keepalived's HTTP_GET { url { path /role digest... } } as a tracker: the
// node stays master only while its service says it is the primary.
func ExampleGet() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "role: primary")
	}))
	defer srv.Close()

	check := &httpcheck.Get{URL: srv.URL + "/role", Body: "primary"}
	r := check.Check(context.Background())
	fmt.Println(r.Up, r.Reason)

	// A program runs it like any other check.
	_ = &health.Tracker{Name: "chk_role", Check: check, Interval: time.Second, Fall: 3}
	// Output:
	// true status 200, body contains "primary"
}
