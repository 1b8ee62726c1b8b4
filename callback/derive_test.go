package callback_test

import (
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// TestRequestTokenGolden pins the derivation: a change here changes the
// ClientRequestToken of every request, so a worker upgraded between a report
// and its retry would no longer be recognised as repeating itself. Do not
// update these values; add a new version instead. The values were computed
// from the encoding documented on FailureRequestToken by a separate Python
// sketch, not by this package.
func TestRequestTokenGolden(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	for _, tt := range []struct {
		name string
		got  callback.RequestToken
		want string
	}{
		{"failure, no reason", callback.FailureRequestToken(tok, callback.Reason{}), "scb1-1a7deeff9bfb65bdf9dfa6637b99afb7ff93e4bed28e7bea16346efbf1766509"},
		{"failure, reason", callback.FailureRequestToken(tok, callback.MustParseReason("disk full")), "scb1-0ae8fa159baaf1d88178b579b14abf68776492c74586bd1984e614758b855a76"},
		{"success, no outputs", callback.SuccessRequestToken(tok, nil), "scb1-40f080020462f02aa9fe95270123dd71e810adce1232c0bb53b8951e41f29e32"},
		{"success, outputs", callback.SuccessRequestToken(tok, []callback.Output{callback.MustNewOutput("k", "v"), callback.MustNewOutput("model", "s3://b/k")}), "scb1-5a250ab7dd81d07fa6ec42a89bb5f5760781fe3f8ed7cace8dcf42cc64376d55"},
	} {
		if tt.got.String() != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
		if _, err := callback.ParseRequestToken(tt.got.String()); err != nil {
			t.Errorf("%s: derived token is not a valid ClientRequestToken: %v", tt.name, err)
		}
	}
}

func TestRequestTokenDistinct(t *testing.T) {
	a := callback.MustParseToken("AbCdE12345")
	b := callback.MustParseToken("AbCdE12346")
	out := func(kv ...string) []callback.Output {
		var o []callback.Output
		for i := 0; i < len(kv); i += 2 {
			o = append(o, callback.MustNewOutput(kv[i], kv[i+1]))
		}
		return o
	}
	tokens := map[string]string{}
	add := func(name string, rt callback.RequestToken) {
		if prev, ok := tokens[rt.String()]; ok {
			t.Errorf("%s and %s derive the same token", prev, name)
		}
		tokens[rt.String()] = name
	}
	add("fail a", callback.FailureRequestToken(a, callback.Reason{}))
	add("fail b", callback.FailureRequestToken(b, callback.Reason{}))
	add("fail a x", callback.FailureRequestToken(a, callback.MustParseReason("x")))
	add("fail a y", callback.FailureRequestToken(a, callback.MustParseReason("y")))
	add("succeed a", callback.SuccessRequestToken(a, nil))
	add("succeed b", callback.SuccessRequestToken(b, nil))
	add("succeed a ab=c", callback.SuccessRequestToken(a, out("ab", "c")))
	add("succeed a a=bc", callback.SuccessRequestToken(a, out("a", "bc")))
	add("succeed a =", callback.SuccessRequestToken(a, out("", "")))
	add("succeed a = =", callback.SuccessRequestToken(a, out("", "", "", "")))
	add("succeed a k=v j=w", callback.SuccessRequestToken(a, out("k", "v", "j", "w")))
	add("succeed a j=w k=v", callback.SuccessRequestToken(a, out("j", "w", "k", "v")))

	// Same input, same token: deterministic within and across calls.
	r := callback.NewReason(strings.Repeat("x", 1000))
	var got []callback.RequestToken
	for range 2 {
		got = append(got, callback.FailureRequestToken(a, r))
	}
	if got[0] != got[1] {
		t.Error("derivation is not deterministic")
	}
}

func TestRequestTokenAllocs(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	reason := callback.MustParseReason(strings.Repeat("é", 256))
	big := make([]callback.Output, 50)
	for i := range big {
		big[i] = callback.MustNewOutput(strings.Repeat("n", 256), strings.Repeat("v", 1024))
	}
	for name, fn := range map[string]func(){
		"failure":         func() { callback.FailureRequestToken(tok, reason) },
		"success":         func() { callback.SuccessRequestToken(tok, big[:1]) },
		"success, 50 max": func() { callback.SuccessRequestToken(tok, big) },
	} {
		if n := testing.AllocsPerRun(50, fn); n > 2 {
			t.Errorf("%s: %v allocations, want at most 2", name, n)
		}
	}
}
