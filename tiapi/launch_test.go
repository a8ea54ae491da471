package tiapi_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const (
	secret     = "launch-secret-current-0123456789"
	oldSecret  = "launch-secret-previous-987654321"
	launchSkew = 2 * time.Minute
)

var launchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newVerifier() *tiapi.LaunchVerifier {
	return tiapi.NewLaunchVerifier([]string{secret, "", oldSecret}, launchSkew, examgate.ClockFunc(func() time.Time { return launchNow }))
}

func validToken() titest.LaunchToken {
	return titest.LaunchToken{
		Email:              "  ada@example.com ",
		FirstName:          "Ada",
		LastName:           "Lovelace",
		ExternalCustomerID: "ext-42",
		CourseID:           "course-uuid-1",
		AssignmentID:       "assign-7",
		UserID:             "ti-user-1",
		IssuedAt:           launchNow.Add(-30 * time.Second),
	}
}

func signLaunch(t testing.TB, key string, c titest.LaunchToken) string {
	t.Helper()
	tok, err := titest.SignLaunch(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signClaims signs arbitrary claims with HS256, for shapes SignLaunch
// cannot produce.
func signClaims(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func baseClaims() jwt.MapClaims {
	return jwt.MapClaims{"email": "ada@example.com", "courseId": "c1", "iat": launchNow.Unix()}
}

// wantRefused checks the code and that the raw token stays out of the error.
func wantRefused(t *testing.T, raw string, code, message string) {
	t.Helper()
	claims, err := newVerifier().Verify(raw)
	if err == nil {
		t.Fatalf("Verify accepted the token: %+v", claims)
	}
	if claims != nil {
		t.Fatalf("Verify returned claims with an error")
	}
	if got := examgate.ErrorCode(err); got != code {
		t.Fatalf("code = %s, want %s (%v)", got, code, err)
	}
	if message != "" && examgate.ErrorMessage(err) != message {
		t.Fatalf("message = %q, want %q", examgate.ErrorMessage(err), message)
	}
	if len(raw) > 16 && strings.Contains(err.Error(), raw) {
		t.Fatalf("error contains the raw token: %v", err)
	}
	for _, part := range strings.Split(raw, ".") {
		if len(part) > 16 && strings.Contains(err.Error(), part) {
			t.Fatalf("error contains a part of the token: %v", err)
		}
	}
}

const (
	msgUnverified = "This link could not be verified. Go back to your course and open the exam again."
	msgExpired    = "This link has expired. Go back to your course and open the exam again."
	msgNoEmail    = "This link does not include your email address. Ask your course administrator to check the exam link."
)

func TestVerifyValid(t *testing.T) {
	raw := signLaunch(t, secret, validToken())
	got, err := newVerifier().Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(raw))
	want := examgate.LaunchClaims{
		TokenID:            hex.EncodeToString(sum[:]),
		IssuedAt:           launchNow.Add(-30 * time.Second),
		Email:              "ada@example.com",
		FirstName:          "Ada",
		LastName:           "Lovelace",
		ExternalCustomerID: "ext-42",
		CourseID:           "course-uuid-1",
		AssignmentID:       "assign-7",
		TIUserID:           "ti-user-1",
	}
	if *got != want {
		t.Fatalf("claims = %+v\nwant     %+v", *got, want)
	}
}

func TestVerifySecondSecret(t *testing.T) {
	if _, err := newVerifier().Verify(signLaunch(t, oldSecret, validToken())); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWrongSecret(t *testing.T) {
	wantRefused(t, signLaunch(t, "some-other-secret", validToken()), examgate.EUNAUTHORIZED, msgUnverified)
}

func TestVerifyNoSecrets(t *testing.T) {
	v := tiapi.NewLaunchVerifier([]string{"", ""}, time.Minute, nil)
	if _, err := v.Verify(signLaunch(t, secret, titest.LaunchToken{Email: "a@example.com", CourseID: "c1"})); examgate.ErrorCode(err) != examgate.EINTERNAL {
		t.Fatalf("error = %v, want INTERNAL", err)
	}
}

func TestVerifyRefusesOtherAlgorithms(t *testing.T) {
	claims := jwt.MapClaims{"email": "ada@example.com", "courseId": "c1", "iat": launchNow.Unix()}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	// A header saying "hs256" must not pass for HS256.
	lower := b64(`{"alg":"hs256","typ":"JWT"}`) + "." + b64(`{"email":"ada@example.com","courseId":"c1"}`) + ".c2ln"
	noAlg := b64(`{"typ":"JWT"}`) + "." + b64(`{"email":"ada@example.com","courseId":"c1"}`) + ".c2ln"

	for name, raw := range map[string]string{"none": none, "HS512": hs512, "HS384": hs384, "RS256": rs256, "lowercase": lower, "no alg": noAlg} {
		t.Run(name, func(t *testing.T) { wantRefused(t, raw, examgate.EUNAUTHORIZED, msgUnverified) })
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyTimes(t *testing.T) {
	tok := func(f func(*titest.LaunchToken)) string {
		c := validToken()
		f(&c)
		return signLaunch(t, secret, c)
	}
	t.Run("iat too old", func(t *testing.T) {
		wantRefused(t, tok(func(c *titest.LaunchToken) { c.IssuedAt = launchNow.Add(-launchSkew - time.Second) }), examgate.EUNAUTHORIZED, msgExpired)
	})
	t.Run("iat in the future", func(t *testing.T) {
		raw := tok(func(c *titest.LaunchToken) { c.IssuedAt = launchNow.Add(launchSkew + time.Second) })
		wantRefused(t, raw, examgate.EUNAUTHORIZED, "")
		_, err := newVerifier().Verify(raw)
		if !strings.Contains(examgate.ErrorMessage(err), "not valid yet") {
			t.Fatalf("message = %q, want it to say not valid yet", examgate.ErrorMessage(err))
		}
	})
	t.Run("iat within skew either way", func(t *testing.T) {
		for _, d := range []time.Duration{-launchSkew, launchSkew} {
			if _, err := newVerifier().Verify(tok(func(c *titest.LaunchToken) { c.IssuedAt = launchNow.Add(d) })); err != nil {
				t.Fatalf("iat now%+v: %v", d, err)
			}
		}
	})
	t.Run("iat missing", func(t *testing.T) {
		c := baseClaims()
		delete(c, "iat")
		wantRefused(t, signClaims(t, c), examgate.EUNAUTHORIZED, msgUnverified)
	})
	t.Run("iat not a number", func(t *testing.T) {
		c := baseClaims()
		c["iat"] = launchNow.Format(time.RFC3339)
		wantRefused(t, signClaims(t, c), examgate.EUNAUTHORIZED, msgUnverified)
	})
	t.Run("iat absurd", func(t *testing.T) {
		c := baseClaims()
		c["iat"] = 1e300
		wantRefused(t, signClaims(t, c), examgate.EUNAUTHORIZED, msgUnverified)
	})
	t.Run("exp passed", func(t *testing.T) {
		wantRefused(t, tok(func(c *titest.LaunchToken) { c.ExpiresAt = launchNow.Add(-time.Second) }), examgate.EUNAUTHORIZED, msgExpired)
	})
	t.Run("exp ahead", func(t *testing.T) {
		exp := launchNow.Add(time.Minute)
		got, err := newVerifier().Verify(tok(func(c *titest.LaunchToken) { c.ExpiresAt = exp }))
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(exp) {
			t.Fatalf("ExpiresAt = %s, want %s", got.ExpiresAt, exp)
		}
	})
	t.Run("nbf ahead", func(t *testing.T) {
		c := baseClaims()
		c["nbf"] = launchNow.Add(time.Hour).Unix()
		wantRefused(t, signClaims(t, c), examgate.EUNAUTHORIZED, "")
	})
	t.Run("nbf passed", func(t *testing.T) {
		c := baseClaims()
		c["nbf"] = launchNow.Add(-time.Hour).Unix()
		if _, err := newVerifier().Verify(signClaims(t, c)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyClaims(t *testing.T) {
	t.Run("missing email", func(t *testing.T) {
		c := validToken()
		c.Email = ""
		wantRefused(t, signLaunch(t, secret, c), examgate.EINVALID, msgNoEmail)
	})
	t.Run("blank email", func(t *testing.T) {
		c := baseClaims()
		c["email"] = "   "
		wantRefused(t, signClaims(t, c), examgate.EINVALID, msgNoEmail)
	})
	t.Run("missing course id", func(t *testing.T) {
		c := validToken()
		c.CourseID = ""
		wantRefused(t, signLaunch(t, secret, c), examgate.EINVALID, "")
	})
	for name, email := range map[string]any{
		"not an address":  "ada.example.com",
		"display name":    "Ada <ada@example.com>",
		"two addresses":   "ada@example.com, bob@example.com",
		"too long":        strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".com",
		"not a string":    map[string]any{"value": "ada@example.com"},
		"control char":    "ada\x00@example.com",
		"no domain":       "ada@",
		"no local part":   "@example.com",
		"domain with dot": "ada@.example.com",
	} {
		t.Run("email "+name, func(t *testing.T) {
			c := baseClaims()
			c["email"] = email
			wantRefused(t, signClaims(t, c), examgate.EINVALID, "")
		})
	}
	for _, field := range []string{"name", "firstName", "lastName", "externalCustomerId", "courseId", "assignmentId", "userId"} {
		t.Run(field+" too long", func(t *testing.T) {
			c := baseClaims()
			c[field] = strings.Repeat("x", 257)
			wantRefused(t, signClaims(t, c), examgate.EINVALID, "")
		})
	}
	t.Run("256 chars accepted", func(t *testing.T) {
		c := baseClaims()
		c["lastName"] = strings.Repeat("x", 256)
		if _, err := newVerifier().Verify(signClaims(t, c)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("course_id and numeric ids", func(t *testing.T) {
		c := baseClaims()
		delete(c, "courseId")
		c["course_id"] = 12345
		c["learnerId"] = 9876543210
		c["unknownClaim"] = []any{"ignored"}
		got, err := newVerifier().Verify(signClaims(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if got.CourseID != "12345" || got.TIUserID != "9876543210" {
			t.Fatalf("CourseID = %q, TIUserID = %q", got.CourseID, got.TIUserID)
		}
	})
	t.Run("the customer's claims: email, name, course_id", func(t *testing.T) {
		c := jwt.MapClaims{"email": "aroha@example.com", "name": " Aroha Ngata ", "course_id": "c1", "iat": launchNow.Unix()}
		got, err := newVerifier().Verify(signClaims(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Aroha Ngata" || got.FirstName != "" || got.LastName != "" || got.CourseID != "c1" {
			t.Fatalf("claims = %+v", got)
		}
	})
	t.Run("course_id string", func(t *testing.T) {
		c := baseClaims()
		delete(c, "courseId")
		c["course_id"] = "c-underscore"
		got, err := newVerifier().Verify(signClaims(t, c))
		if err != nil || got.CourseID != "c-underscore" {
			t.Fatalf("claims = %+v, err = %v", got, err)
		}
	})
	t.Run("userId and learnerId", func(t *testing.T) {
		for claim, want := range map[string]any{"userId": "u-1", "learnerId": "l-1"} {
			c := baseClaims()
			c[claim] = want
			got, err := newVerifier().Verify(signClaims(t, c))
			if err != nil || got.TIUserID != want {
				t.Fatalf("%s: claims = %+v, err = %v", claim, got, err)
			}
		}
	})
}

func TestVerifyMalformed(t *testing.T) {
	valid := signLaunch(t, secret, validToken())
	parts := strings.Split(valid, ".")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + ".!!!notbase64"))
	badPayload := parts[0] + ".!!!notbase64." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	huge := baseClaims()
	huge["padding"] = strings.Repeat("p", 9000)

	for name, raw := range map[string]string{
		"empty":            "",
		"garbage":          "this is not a token at all",
		"two parts":        parts[0] + "." + parts[1],
		"four parts":       valid + ".extra",
		"bad header":       "%%%." + parts[1] + "." + parts[2],
		"header not json":  b64("HS256") + "." + parts[1] + "." + parts[2],
		"bad payload":      badPayload,
		"bad signature":    parts[0] + "." + parts[1] + ".***",
		"over 8 KiB":       signClaims(t, huge),
		"payload not JSON": parts[0] + "." + b64("[1,2]") + "." + parts[2],
		// Decoders skip CR and LF; a copy with them would verify under
		// another replay key.
		"newline after":          valid + "\n",
		"CR LF in the header":    parts[0][:4] + "\r\n" + parts[0][4:] + "." + parts[1] + "." + parts[2],
		"CR in the signature":    parts[0] + "." + parts[1] + "." + parts[2][:4] + "\r" + parts[2][4:],
		"padding on the payload": parts[0] + "." + parts[1] + "==." + parts[2],
		"empty signature":        parts[0] + "." + parts[1] + ".",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newVerifier().Verify(raw)
			if code := examgate.ErrorCode(err); code != examgate.EINVALID && code != examgate.EUNAUTHORIZED {
				t.Fatalf("error = %v, want INVALID or UNAUTHENTICATED", err)
			}
			wantRefused(t, raw, examgate.ErrorCode(err), "")
		})
	}
	t.Run("over 8 KiB is INVALID", func(t *testing.T) {
		wantRefused(t, signClaims(t, huge), examgate.EINVALID, "")
	})
}

func TestVerifyTokenID(t *testing.T) {
	v := newVerifier()
	a := signLaunch(t, secret, validToken())
	other := validToken()
	other.IssuedAt = other.IssuedAt.Add(time.Second)
	b := signLaunch(t, secret, other)

	a1, err := v.Verify(a)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := v.Verify(a)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := v.Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	if a1.TokenID != a2.TokenID || len(a1.TokenID) != 64 {
		t.Fatalf("TokenID not stable: %q vs %q", a1.TokenID, a2.TokenID)
	}
	if a1.TokenID == b1.TokenID {
		t.Fatalf("different tokens share TokenID %q", a1.TokenID)
	}
}

func TestSignLaunchWireFormat(t *testing.T) {
	c := titest.LaunchToken{Email: "ada@example.com", CourseID: "c1", IssuedAt: launchNow, ExpiresAt: launchNow.Add(time.Hour)}
	raw := signLaunch(t, secret, c)
	parts := strings.Split(raw, ".")
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if header["alg"] != "HS256" {
		t.Fatalf("header = %v", header)
	}
	want := map[string]any{"email": "ada@example.com", "courseId": "c1", "iat": float64(launchNow.Unix()), "exp": float64(launchNow.Add(time.Hour).Unix())}
	if len(claims) != len(want) {
		t.Fatalf("claims = %v, want %v", claims, want)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Fatalf("claims = %v, want %v", claims, want)
		}
	}
	if _, err := titest.SignLaunch("", c); err == nil {
		t.Fatal("SignLaunch accepted an empty secret")
	}
}

// The last base64 character of an HS256 signature carries two unused bits:
// without strict decoding, four spellings of one token would verify, each
// with its own replay key.
func TestVerifyRefusesNonCanonicalSignature(t *testing.T) {
	raw := signLaunch(t, secret, validToken())
	if _, err := newVerifier().Verify(raw); err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, raw[len(raw)-1])
	for bits := 1; bits < 4; bits++ {
		variant := raw[:len(raw)-1] + string(alphabet[last^bits])
		if _, err := newVerifier().Verify(variant); err == nil {
			t.Fatalf("non-canonical spelling %d of the signature was accepted", bits)
		}
	}
}
