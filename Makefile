include rules.mk

.PHONY: all test test-quick demo bench bench-deps deps clean unit-build

all: $(BIN)

# The static NativeAOT binary (file dist/aica: "statically linked"), AOT/trim warnings are errors.
$(BIN): $(SOURCES)
	$(DOTNET) publish src/Aica/Aica.csproj $(PUBLISH_FLAGS) -o $(ARTIFACTS)/publish
	@mkdir -p $(DIST)
	cp $(ARTIFACTS)/publish/aica $(BIN)
	@file $(BIN) | grep -q 'statically linked' || { echo "error: $(BIN) is not statically linked"; exit 1; }

# Installs what the tests need on a fresh machine (root, Debian). groff and man-db check the man page, less is the
# menu's pager. mmdebstrap and systemd-nspawn build and boot the
# Debian tree of the real-boot tests (tests/Aica.Tests/Boot). prometheus-node-exporter and curl: the textfile test
# starts its own exporter in a private network namespace, so a policy-rc.d (removed after) keeps apt from starting
# the packaged service on the host's port 9100; logrotate checks /etc/logrotate.d/aica with -d;
# ansible-core runs contrib/ansible against the booted fleet.
deps:
	@missing=""; \
	for c in visudo:sudo rsync:rsync shellcheck:shellcheck setpriv:util-linux tmux:tmux systemd-analyze:systemd file:file \
	         mmdebstrap:mmdebstrap systemd-nspawn:systemd-container zsh:zsh groff:groff man:man-db less:less ansible-playbook:ansible-core \
	         prometheus-node-exporter:prometheus-node-exporter logrotate:logrotate curl:curl nsenter:util-linux ip:iproute2; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${c%%:*} ] || missing="$$missing $${c##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  policy=/usr/sbin/policy-rc.d; made=""; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod 755 $$policy && made=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; rc=$$?; \
	  [ -z "$$made" ] || rm -f $$policy; \
	  [ $$rc -eq 0 ]; \
	fi

# Every test: unit, in-process command, black-box (dist/aica) and end-to-end (mount namespaces).
test: deps $(BIN)
	@rm -rf $(TEST_RESULTS)
	$(DOTNET) build tests/Aica.Tests/Aica.Tests.csproj -c $(CONFIG) -nologo -v q
	AICA_BIN=$(CURDIR)/$(BIN) AICA_SHIMS=$(CURDIR)/shims $(DOTNET) test tests/Aica.Tests/Aica.Tests.csproj -c $(CONFIG) --no-build \
	  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory $(TEST_RESULTS); \
	  rc=$$?; sh tests/summary.sh $(TEST_RESULTS)/results.trx; s=$$?; [ $$rc -eq 0 ] && [ $$s -eq 0 ]

# The quick inner loop: the levels that need no namespaces or boots (unit, inproc, blackbox; see tests/Aica.Tests/Infra/LevelSpecs.cs).
# Root-only tests among them skip themselves when run as another user.
test-quick: $(BIN)
	@rm -rf $(TEST_RESULTS)
	$(DOTNET) build tests/Aica.Tests/Aica.Tests.csproj -c $(CONFIG) -nologo -v q
	AICA_BIN=$(CURDIR)/$(BIN) AICA_SHIMS=$(CURDIR)/shims $(DOTNET) test tests/Aica.Tests/Aica.Tests.csproj -c $(CONFIG) --no-build \
	  --filter "level=unit|level=inproc|level=blackbox" --logger "trx;LogFileName=results.trx" --results-directory $(TEST_RESULTS); \
	  rc=$$?; sh tests/summary.sh $(TEST_RESULTS)/results.trx; s=$$?; [ $$rc -eq 0 ] && [ $$s -eq 0 ]

# The main job on a sandbox server under a temporary folder (--root); never touches the real /.
demo: deps $(BIN)
	sh tests/demo.sh $(CURDIR)/$(BIN)

# The peers the benchmarks compare with (Debian packages): hyperfine times whole commands, gdu is du's fast rival;
# GNU time gives the adversarial bench its max RSS.
bench-deps:
	@missing=""; \
	for c in hyperfine:hyperfine gdu:gdu rsync:rsync; do \
	  command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c##*:}"; \
	done; \
	[ -x /usr/bin/time ] || missing="$$missing time"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench: deps bench-deps $(BIN)
	sh bench/run.sh $(CURDIR)/$(BIN)

clean:
	rm -rf $(DIST) $(ARTIFACTS) src/*/bin src/*/obj tests/*/bin tests/*/obj
