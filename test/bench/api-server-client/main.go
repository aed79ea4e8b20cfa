// Command api-server-client calls an admission webhook as the Kubernetes API server does: Go's net/http client
// over TLS, HTTP/2 when asked (the API server speaks it to a webhook at a loopback address) or HTTP/1.1 with a
// pool of connections, one POST of an AdmissionReview per call. It sends -rate calls a second for -seconds
// seconds (open loop: a slow answer does not slow the sending) and prints one JSON line of latency
// percentiles, for bench:webhook (test/bench/webhook.ts) to put beside those of a bare server.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "the webhook's URL, https://host:port/path")
	caFile := flag.String("ca", "", "PEM file of the CA that signed the server's certificate")
	bodyFile := flag.String("body", "", "file of the AdmissionReview to send")
	rate := flag.Int("rate", 200, "calls a second")
	seconds := flag.Int("seconds", 5, "how long to send")
	useHTTP2 := flag.Bool("http2", false, "speak HTTP/2 (else HTTP/1.1)")
	flag.Parse()

	pool := x509.NewCertPool()
	pem, err := os.ReadFile(*caFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		fail("cannot read the CA %s: %v", *caFile, err)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fail("cannot read the review %s: %v", *bodyFile, err)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: *useHTTP2, MaxIdleConnsPerHost: 100}
	if !*useHTTP2 {
		// An empty map turns HTTP/2 off (net/http's documented switch).
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	var (
		mu        sync.Mutex
		latencies []float64
		failures  int
		protocol  string
		calls     sync.WaitGroup
	)
	ticker := time.NewTicker(time.Second / time.Duration(*rate))
	defer ticker.Stop()
	for i := 0; i < *rate**seconds; i++ {
		<-ticker.C
		calls.Add(1)
		go func() {
			defer calls.Done()
			start := time.Now()
			response, err := client.Post(*url, "application/json", bytes.NewReader(body))
			ok := err == nil
			if ok {
				_, err = io.Copy(io.Discard, response.Body)
				response.Body.Close()
				ok = err == nil && response.StatusCode == http.StatusOK
			}
			elapsed := time.Since(start).Seconds() * 1000
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failures++
				return
			}
			latencies = append(latencies, elapsed)
			protocol = response.Proto
		}()
	}
	calls.Wait()
	if len(latencies) == 0 {
		fail("no call succeeded (%d failed)", failures)
	}
	sort.Float64s(latencies)
	at := func(q float64) float64 { return latencies[int(q*float64(len(latencies)-1))] }
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"protocol": protocol, "calls": len(latencies), "failures": failures,
		"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": latencies[len(latencies)-1],
	})
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "api-server-client: "+format+"\n", args...)
	os.Exit(1)
}
