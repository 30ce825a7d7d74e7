# Shared variables and flags for the aica build (included by Makefile).
DOTNET      ?= dotnet
CONFIG      ?= Release
ARCH        := $(shell uname -m)
RID         := $(if $(filter aarch64 arm64,$(ARCH)),linux-arm64,linux-x64)
DIST        := dist
BIN         := $(DIST)/aica
ARTIFACTS   := artifacts
TEST_RESULTS := $(ARTIFACTS)/test-results
# Static NativeAOT flavour: its own intermediate folders (see src/Aica/Aica.csproj).
PUBLISH_FLAGS := -c $(CONFIG) -r $(RID) -p:AicaStatic=true -p:TreatWarningsAsErrors=true -nologo
SOURCES     := $(shell find src shims -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.in' -o -name '*.service' -o -name '*.cron' -o -name '*.sh' \) 2>/dev/null) Directory.Build.props
# Debian packages the tests and the demo use (visudo, rsync, shellcheck, setpriv, tmux, systemd-analyze, real boots).
APT_PACKAGES := sudo rsync shellcheck util-linux tmux systemd file mmdebstrap systemd-container zsh
