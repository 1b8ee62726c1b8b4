package callbacktest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// dial opens a raw connection to the server.
func dial(t *testing.T, srv *callbacktest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedWithin reports whether the server closes conn within d (a read gets
// EOF or a reset rather than timing out).
func closedWithin(conn net.Conn, br *bufio.Reader, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestIdleConnectionClosed checks that a keep-alive connection left idle for
// Options.ReadTimeout is closed (issue 18, finding 8: one stayed open 3 s
// past a 200 ms ReadTimeout).
func TestIdleConnectionClosed(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) { o.ReadTimeout = 200 * time.Millisecond })
	conn := dial(t, srv)
	h := signedHeader(callbacktest.OpFailure)
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(`{"CallbackToken":"AbCdE12345"}`))
	req.Header = h
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server closed the connection at once: not a keep-alive test")
	}
	start := time.Now()
	if !closedWithin(conn, br, 3*time.Second) {
		t.Fatalf("an idle keep-alive connection was still open %v after a 200ms ReadTimeout", time.Since(start).Round(time.Millisecond))
	}
	t.Logf("closed after %v", time.Since(start).Round(time.Millisecond))
}

// TestOneReadBoundForHeaderAndBody checks that a request's header and body
// share one Options.ReadTimeout (issue 18, finding 8: each had a full one).
// The header and the body each arrive within the bound, together not.
func TestOneReadBoundForHeaderAndBody(t *testing.T) {
	const bound = time.Second
	srv := newServer(t, func(o *callbacktest.Options) { o.ReadTimeout = bound })
	srv.AddStep("AbCdE12345")
	conn := dial(t, srv)
	body := `{"CallbackToken":"AbCdE12345"}`
	header := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		"X-Amz-Target: SageMaker.SendPipelineExecutionStepFailure\r\nX-Amz-Date: 20240101T000000Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	// Each part takes 70% of the bound: the whole takes 140%.
	trickle := func(s string, over time.Duration) error { // in 4 parts, the last at over
		begin := time.Now()
		for i := range 4 {
			time.Sleep(time.Until(begin.Add(over * time.Duration(i) / 3)))
			if _, err := io.WriteString(conn, s[len(s)*i/4:len(s)*(i+1)/4]); err != nil {
				return err
			}
		}
		return nil
	}
	start := time.Now()
	err := trickle(header, bound*7/10)
	if err == nil {
		err = trickle(body, bound*7/10)
	}
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, rerr := http.ReadResponse(br, nil)
	t.Logf("write: %v; read: %v; after %v", err, rerr, time.Since(start).Round(time.Millisecond))
	if err == nil && rerr == nil {
		t.Fatalf("answered %s after %v: header and body each had a full ReadTimeout of %v", resp.Status, time.Since(start).Round(time.Millisecond), bound)
	}
	if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusExecuting {
		t.Errorf("the step changed: %+v", st)
	}
}
