package callback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback"
)

func fmtAny(v any) string { return fmt.Sprint(v) }

// rawToken is the token whose raw value must never appear.
const rawToken = "SYZ8ExZ3Sd"

// holder has the Token in an unexported field, where fmt cannot call the
// Token's methods and prints the field's own representation.
type holder struct {
	name string
	tok  callback.Token
}

// Exported has the Token in an exported field.
type Exported struct {
	Name  string
	Token callback.Token
}

// leaks reports whether s shows the raw token or an obvious encoding of it.
func leaks(s string) bool {
	lower := strings.ToLower(s)
	return strings.Contains(s, rawToken) ||
		strings.Contains(lower, strings.ToLower(rawToken)) ||
		strings.Contains(lower, fmt.Sprintf("%x", rawToken)) ||
		strings.Contains(s, fmt.Sprint([]byte(rawToken)))
}

func TestTokenRedactedEverywhere(t *testing.T) {
	tok := callback.MustParseToken(rawToken)
	values := map[string]any{
		"token":             tok,
		"pointer":           &tok,
		"slice":             []callback.Token{tok, tok},
		"array":             [1]callback.Token{tok},
		"map value":         map[string]callback.Token{"k": tok},
		"map key":           map[callback.Token]int{tok: 1},
		"struct field":      Exported{Name: "x", Token: tok},
		"struct pointer":    &Exported{Name: "x", Token: tok},
		"unexported field":  holder{name: "x", tok: tok},
		"unexported ptr":    &holder{name: "x", tok: tok},
		"nested unexported": struct{ h holder }{holder{tok: tok}},
		"message":           callback.Message{Token: tok, Status: callback.StatusExecuting},
		"any slice":         []any{tok, "other"},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for name, v := range values {
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, v); leaks(s) {
				t.Errorf("%s with %s shows the token: %s", name, verb, s)
			}
		}
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			log := slog.New(h(&buf))
			log.Info("msg", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
			log.LogAttrs(context.Background(), slog.LevelInfo, "attrs", slog.Any("v", v))
			if leaks(buf.String()) {
				t.Errorf("%s through slog shows the token: %s", name, buf.String())
			}
		}
		if out, err := json.Marshal(v); err == nil && leaks(string(out)) {
			t.Errorf("%s through json.Marshal shows the token: %s", name, out)
		}
		if err := fmt.Errorf("wrapped %v", v); leaks(err.Error()) {
			t.Errorf("%s in an error shows the token: %v", name, err)
		}
	}
	// The redacted form is present where the methods are reachable, so an
	// operator can correlate lines.
	if s := fmt.Sprint([]callback.Token{tok}); !strings.Contains(s, tok.Fingerprint()) {
		t.Errorf("slice of tokens does not show the fingerprint: %s", s)
	}
}

func TestErrorsDoNotShowToken(t *testing.T) {
	// Errors about a token never hold the value, whatever is wrong with it.
	for _, bad := range []string{rawToken + "x", rawToken[:9], rawToken[:9] + "-", rawToken[:9] + "\n"} {
		_, err := callback.ParseToken(bad)
		if err == nil {
			t.Fatalf("ParseToken(%q) succeeded", bad)
		}
		if strings.Contains(err.Error(), rawToken[:9]) {
			t.Errorf("error for %q shows the value: %v", bad, err)
		}
		body := `{"token":"` + strings.TrimSuffix(bad, "\n") + `","status":"Executing"}`
		if _, err := callback.ParseMessage([]byte(body)); err == nil || strings.Contains(err.Error(), rawToken[:9]) {
			t.Errorf("ParseMessage error for %q: %v", bad, err)
		}
	}
}
