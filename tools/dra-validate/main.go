// dra-validate runs the NVIDIA DRA driver's own checks on opaque device configurations: the strict decoder of
// its API group, then Normalize and Validate, in the order its admission webhook applies them, under the feature
// gates the driver would run with. Only the driver's api and featuregates packages are linked (not the webhook's
// server), so the tool stays small.
//
// Usage: dra-validate [--feature-gates Gate=true,...] < configs.json
//
//	dra-validate --list-gates: the driver's feature gates as {"<gate>": {"default": bool, "stage": "alpha"|"beta"|"ga"}}
//
// stdin: a JSON array of {"name": string, "parameters": <opaque config object>} or {"name": string, "object":
// <resource.k8s.io/v1 ResourceClaim or ResourceClaimTemplate>}. An object is first decoded strictly into the
// Kubernetes API's own types (unknown fields refused), then each opaque config of the driver in it is checked, as the
// driver's webhook does; its verdict names the config by its field path.
// stdout: {"featureGates": {"accepted": bool, "message": string},
//
//	"configs": [{"name": string, "accepted": bool, "kind": string, "message": string}]}
//
// Exit status: 0 when the gates and every configuration are accepted, 1 when anything is refused, 2 on bad input.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"

	nvapi "sigs.k8s.io/dra-driver-nvidia-gpu/api/nvidia.com/resource/v1beta1"
	"sigs.k8s.io/dra-driver-nvidia-gpu/pkg/featuregates"
)

var version = "dev"

type input struct {
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Object     json.RawMessage `json:"object,omitempty"`
}

// driverName is the driver whose opaque configs the webhook checks (cmd/webhook: DriverName).
const driverName = "gpu.nvidia.com"

// claimDecoder decodes resource.k8s.io/v1 objects strictly: a field the API does not have is an error, not dropped.
var claimDecoder runtime.Decoder

func init() {
	scheme := runtime.NewScheme()
	if err := resourcev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	claimDecoder = k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme,
		k8sjson.SerializerOptions{Strict: true})
}

type verdict struct {
	Name     string `json:"name,omitempty"`
	Accepted bool   `json:"accepted"`
	Kind     string `json:"kind,omitempty"`
	Message  string `json:"message,omitempty"`
}

type report struct {
	FeatureGates verdict   `json:"featureGates"`
	Configs      []verdict `json:"configs"`
}

func main() {
	gates := flag.String("feature-gates", "", "comma-separated Gate=true|false pairs, as the driver's --feature-gates")
	showVersion := flag.Bool("version", false, "print the version and exit")
	listGates := flag.Bool("list-gates", false, "print the driver's feature gates, their defaults and stages, and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("dra-validate %s\n", version)
		return
	}
	if *listGates {
		printGates()
		return
	}

	rep := report{FeatureGates: verdict{Accepted: true}, Configs: []verdict{}}
	if *gates != "" {
		if err := featuregates.FeatureGates().Set(*gates); err != nil {
			rep.FeatureGates = verdict{Message: err.Error()}
		}
	}
	if rep.FeatureGates.Accepted {
		if err := featuregates.ValidateFeatureGates(); err != nil {
			rep.FeatureGates = verdict{Message: err.Error()}
		}
	}

	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dra-validate: reading stdin: %v\n", err)
		os.Exit(2)
	}
	var inputs []input
	if err := json.Unmarshal(raw, &inputs); err != nil {
		fmt.Fprintf(os.Stderr, "dra-validate: stdin is not a JSON array of {name, parameters}: %v\n", err)
		os.Exit(2)
	}

	ok := rep.FeatureGates.Accepted
	for _, in := range inputs {
		var verdicts []verdict
		if in.Object != nil {
			verdicts = checkObject(in)
		} else {
			verdicts = []verdict{check(in)}
		}
		for _, v := range verdicts {
			ok = ok && v.Accepted
			rep.Configs = append(rep.Configs, v)
		}
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(os.Stderr, "dra-validate: %v\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// checkObject decodes a ResourceClaim or ResourceClaimTemplate into the Kubernetes API's types, then checks each
// opaque config of the driver in it. An object without such configs gets one verdict: accepted, kind = its kind.
func checkObject(in input) []verdict {
	decoded, gvk, err := claimDecoder.Decode(in.Object, nil, nil)
	if err != nil {
		return []verdict{{Name: in.Name, Message: fmt.Sprintf("error decoding object %s: %v", in.Name, err)}}
	}
	var configs []resourcev1.DeviceClaimConfiguration
	specPath := "spec"
	switch o := decoded.(type) {
	case *resourcev1.ResourceClaim:
		configs = o.Spec.Devices.Config
	case *resourcev1.ResourceClaimTemplate:
		configs = o.Spec.Spec.Devices.Config
		specPath = "spec.spec"
	default:
		return []verdict{{Name: in.Name, Message: fmt.Sprintf("%s is %s, not a ResourceClaim or ResourceClaimTemplate", in.Name, gvk.Kind)}}
	}
	var verdicts []verdict
	for i, c := range configs {
		if c.Opaque == nil || c.Opaque.Driver != driverName {
			continue
		}
		name := fmt.Sprintf("%s: %s.devices.config[%d].opaque.parameters", in.Name, specPath, i)
		verdicts = append(verdicts, check(input{Name: name, Parameters: c.Opaque.Parameters.Raw}))
	}
	if len(verdicts) == 0 {
		verdicts = []verdict{{Name: in.Name, Accepted: true, Kind: gvk.Kind}}
	}
	return verdicts
}

// check applies the webhook's sequence to one configuration; messages use the webhook's wording with the
// configuration's name in place of its field path.
func check(in input) verdict {
	v := verdict{Name: in.Name}
	decoded, err := runtime.Decode(nvapi.StrictDecoder, in.Parameters)
	if err != nil {
		v.Message = fmt.Sprintf("error decoding object at %s: %v", in.Name, err)
		return v
	}
	var config nvapi.Interface
	switch c := decoded.(type) {
	case *nvapi.GpuConfig:
		config, v.Kind = c, nvapi.GpuConfigKind
	case *nvapi.MigDeviceConfig:
		config, v.Kind = c, nvapi.MigDeviceConfigKind
	case *nvapi.VfioDeviceConfig:
		config, v.Kind = c, nvapi.VfioDeviceConfigKind
	case *nvapi.ComputeDomainChannelConfig:
		config, v.Kind = c, nvapi.ComputeDomainChannelConfigKind
	case *nvapi.ComputeDomainDaemonConfig:
		config, v.Kind = c, nvapi.ComputeDomainDaemonConfigKind
	default:
		v.Message = fmt.Sprintf("expected a recognized configuration type at %s but got: %T", in.Name, decoded)
		return v
	}
	if err := config.Normalize(); err != nil {
		v.Message = fmt.Sprintf("error normalizing config at %s: %v", in.Name, err)
		return v
	}
	if err := config.Validate(); err != nil {
		v.Message = fmt.Sprintf("object at %s is invalid: %v", in.Name, err)
		return v
	}
	v.Accepted = true
	return v
}

type gate struct {
	Default bool   `json:"default"`
	Stage   string `json:"stage"`
}

// printGates writes the driver's own gate table, as its feature gate registry knows it (the pseudo-gates AllAlpha and
// AllBeta left out), so that gpushare's copy can be compared with it.
func printGates() {
	out := map[string]gate{}
	for name, spec := range featuregates.FeatureGates().GetAll() {
		if name == "AllAlpha" || name == "AllBeta" {
			continue
		}
		stage := strings.ToLower(string(spec.PreRelease))
		if stage == "" {
			stage = "ga"
		}
		out[string(name)] = gate{Default: spec.Default, Stage: stage}
	}
	text, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dra-validate: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(string(text))
}
