package kafkautil_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/config"
)

// signinBroker is a kfake cluster whose brokers take one SASL mechanism
// kfake does not speak, as Kafka does: the handshake names it, then one
// authenticate carries the client's message, which check accepts (nil) or
// refuses with the reason the broker sends back.
type signinBroker struct {
	mu       sync.Mutex
	messages [][]byte // the authenticate messages, in order
}

func newSigninBroker(t *testing.T, mechanism string, check func([]byte) error) (*signinBroker, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b := &signinBroker{}
	c.ControlKey(int16(kmsg.SASLHandshake), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.SASLHandshakeRequest)
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		if req.Mechanism != mechanism {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
			resp.SupportedMechanisms = []string{mechanism}
		}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.SASLAuthenticateRequest)
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		b.mu.Lock()
		b.messages = append(b.messages, bytes.Clone(req.SASLAuthBytes))
		b.mu.Unlock()
		if err := check(req.SASLAuthBytes); err != nil {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			msg := err.Error()
			resp.ErrorMessage = &msg
			return resp, nil, true
		}
		if mechanism == "AWS_MSK_IAM" { // MSK answers with its version and a request id
			resp.SASLAuthBytes = []byte(`{"version":"2020_10_22","request-id":"r-1"}`)
		}
		return resp, nil, true
	})
	return b, c.ListenAddrs()
}

func (b *signinBroker) signins() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.messages)
}

// tokenEndpoint is an OAuth 2.0 token endpoint granting client
// credentials (RFC 6749 4.4) to client "projector" with secret secret:
// each grant is a new token, valid for an hour.
type tokenEndpoint struct {
	mu     sync.Mutex
	issued []string
	scopes []string
}

const clientSecret = "client-s3cr3t"

func newTokenEndpoint(t *testing.T) (*tokenEndpoint, string) {
	t.Helper()
	e := &tokenEndpoint{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if id != "projector" || secret != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		e.mu.Lock()
		tok := fmt.Sprintf("tok-%d", len(e.issued)+1)
		e.issued = append(e.issued, tok)
		e.scopes = append(e.scopes, r.PostForm.Get("scope"))
		e.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, tok)
	}))
	t.Cleanup(srv.Close)
	return e, srv.URL + "/oauth2/token"
}

func (e *tokenEndpoint) grants() (tokens, scopes []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.issued...), append([]string(nil), e.scopes...)
}

// bearer reads an OAUTHBEARER initial client response (RFC 7628 3.1):
// the token and the extensions.
func bearer(msg []byte) (token string, ext map[string]string, err error) {
	gs2, rest, ok := strings.Cut(string(msg), "\x01")
	if !ok || !strings.HasPrefix(gs2, "n,") || !strings.HasSuffix(rest, "\x01\x01") {
		return "", nil, fmt.Errorf("not an OAUTHBEARER client response: %q", msg)
	}
	ext = map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "\x01\x01"), "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "auth" {
			token, ok = strings.CutPrefix(v, "Bearer ")
			if !ok {
				return "", nil, fmt.Errorf("auth is not a bearer token: %q", v)
			}
			continue
		}
		ext[k] = v
	}
	return token, ext, nil
}

// TestOAuthBearer: the clients fetch a token with the client's
// credentials and present it with the extensions; a token the broker
// refuses, or a client the endpoint refuses, fails naming why, never
// showing the client secret.
func TestOAuthBearer(t *testing.T) {
	tokens, tokenURL := newTokenEndpoint(t)
	valid := map[string]bool{}
	var mu sync.Mutex
	broker, addrs := newSigninBroker(t, "OAUTHBEARER", func(msg []byte) error {
		tok, ext, err := bearer(msg)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if !valid[tok] || ext["logicalCluster"] != "lkc-1" || ext["identityPoolId"] != "pool-2" {
			return fmt.Errorf("invalid_token: %s %v", tok, ext)
		}
		return nil
	})
	sasl := func(secret string) *config.SASL {
		return &config.SASL{Mechanism: config.SASLOAuthBearer, TokenURL: tokenURL, ClientID: "projector",
			ClientSecret: config.Secret(secret), Scope: "kafka  read",
			Extensions: config.Map[string]{{Key: "logicalCluster", Value: "lkc-1"}, {Key: "identityPoolId", Value: "pool-2"}}}
	}

	// The broker knows no token yet: the one presented is refused.
	if err := reach(t, config.Kafka{Brokers: addrs, SASL: sasl(clientSecret)}); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Fatalf("a token the broker refuses: %v, want the credentials rejected", err)
	}
	issued, _ := tokens.grants()
	if len(issued) == 0 {
		t.Fatal("no token was fetched")
	}
	mu.Lock()
	valid["tok-2"] = true // the next client's
	mu.Unlock()
	if err := reach(t, config.Kafka{Brokers: addrs, SASL: sasl(clientSecret)}); err != nil {
		t.Fatalf("a valid token: %v", err)
	}
	issued, scopes := tokens.grants()
	if len(issued) != 2 || scopes[1] != "kafka read" {
		t.Errorf("grants %v with scopes %q, want one per client, scope \"kafka read\"", issued, scopes)
	}
	// One token serves every connection of a client.
	used := map[string]int{}
	for _, m := range broker.signins() {
		tok, _, _ := bearer(m)
		used[tok]++
	}
	if used["tok-2"] == 0 || used["tok-3"] != 0 {
		t.Errorf("sign-ins by token %v, want the second client's token only once fetched", used)
	}

	err := reach(t, config.Kafka{Brokers: addrs, SASL: sasl("wrong-secret")})
	if err == nil || !strings.Contains(err.Error(), "no token from kafka.sasl.token_url") || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("a client the endpoint refuses: %v, want why", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("the error shows the client secret: %v", err)
	}
}

// TestMSKIAM: the clients sign in with the AWS credentials of the
// environment, their signature checked as AWS's own SigV4 signer makes
// it for Amazon MSK's kafka-cluster:Connect; without credentials the
// sign-in fails saying so.
func TestMSKIAM(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPROJECTORTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-s3cr3t")
	t.Setenv("AWS_SESSION_TOKEN", "session-tok")
	t.Setenv("AWS_REGION", "eu-west-1")
	creds := aws.Credentials{AccessKeyID: "AKIAPROJECTORTEST", SecretAccessKey: "aws-s3cr3t", SessionToken: "session-tok"}
	broker, addrs := newSigninBroker(t, "AWS_MSK_IAM", func(msg []byte) error { return checkMSKSignature(msg, creds, "eu-west-1") })
	k := config.Kafka{Brokers: addrs, SASL: &config.SASL{Mechanism: config.SASLAWSMSKIAM}}
	if err := reach(t, k); err != nil {
		t.Fatalf("sign-in with the environment's credentials: %v", err)
	}
	if len(broker.signins()) == 0 {
		t.Fatal("the client never signed in")
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", "another-secret") // signed with a key AWS does not know
	if err := reach(t, k); err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Fatalf("a wrong secret key: %v, want the credentials rejected", err)
	}

	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if err := reach(t, k); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Fatalf("no credentials: %v, want that said", err)
	}
}

// isolateAWS keeps the AWS SDK's default chain to the environment: no
// shared files, no instance metadata.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ROLE_ARN", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
}

// checkMSKSignature checks an AWS_MSK_IAM sign-in as Amazon MSK does: a
// JSON map of the presigned kafka-cluster:Connect request's parameters,
// lower-cased, whose signature must be the one AWS's SigV4 signer gives
// for them with the account's secret key.
func checkMSKSignature(msg []byte, creds aws.Credentials, region string) error {
	var p map[string]string
	if err := json.Unmarshal(msg, &p); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if p["version"] != "2020_10_22" || p["action"] != "kafka-cluster:Connect" || p["x-amz-algorithm"] != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("not an MSK IAM sign-in: %v", p)
	}
	if !strings.HasPrefix(p["x-amz-credential"], creds.AccessKeyID+"/") || p["x-amz-security-token"] != creds.SessionToken {
		return fmt.Errorf("unknown access key or session: %s", p["x-amz-credential"])
	}
	signed, err := time.Parse("20060102T150405Z", p["x-amz-date"])
	if err != nil {
		return fmt.Errorf("x-amz-date: %w", err)
	}
	q := url.Values{"Action": {"kafka-cluster:Connect"}, "X-Amz-Expires": {p["x-amz-expires"]}}
	req, err := http.NewRequest(http.MethodGet, "https://"+p["host"]+"/?"+strings.ReplaceAll(q.Encode(), "+", "%20"), nil)
	if err != nil {
		return err
	}
	const emptyBody = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	presigned, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptyBody, "kafka-cluster", region, signed)
	if err != nil {
		return err
	}
	u, err := url.Parse(presigned)
	if err != nil {
		return err
	}
	if want := u.Query().Get("X-Amz-Signature"); p["x-amz-signature"] != want {
		return fmt.Errorf("the signature does not match")
	}
	return nil
}

// TestOAuthBearerTokenURLSecretsHidden: a token endpoint that cannot be
// reached fails the sign-in naming kafka.sasl.token_url, but the HTTP
// client's error, which quotes the URL, shows neither the password nor the
// query the URL carries.
func TestOAuthBearerTokenURLSecretsHidden(t *testing.T) {
	_, addrs := newSigninBroker(t, "OAUTHBEARER", func([]byte) error { return nil })
	// Port 1 of loopback: refused at once.
	tokenURL := "http://idp:s3cr3t-pw@127.0.0.1:1/token?api_key=k3y-s3cr3t"
	err := reach(t, config.Kafka{Brokers: addrs, SASL: &config.SASL{Mechanism: config.SASLOAuthBearer,
		TokenURL: tokenURL, ClientID: "projector", ClientSecret: config.Secret(clientSecret)}})
	if err == nil || !strings.Contains(err.Error(), "no token from kafka.sasl.token_url") {
		t.Fatalf("an unreachable token endpoint: %v, want the sign-in to fail naming it", err)
	}
	for _, secret := range []string{"s3cr3t-pw", "k3y-s3cr3t"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows %q: %v", secret, err)
		}
	}
}
