using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Site;
using Aica.Tests.Infra;
using Aica.Users;

namespace Aica.Tests.Foundation;

/// <summary>
/// issue 11 points 2 and 7: umask 002 and the shared variables in every PAM session (pam_env + pam_umask through a
/// pam-auth-update profile), and aica on the PATH (/usr/local/bin/aica). The real sessions (ssh, su, cron,
/// systemd --user, zsh) are proven on real boots in Boot/RealBootSpecs.
/// </summary>
public sealed class SessionSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-session-").FullName;
    private readonly RootedFs _fs;
    private readonly FakePamAuthUpdate _runner;
    private readonly EngineContext _ctx;

    /// <summary>Records pam-auth-update calls; "installs" the profile's lines unless the stack counts as hand-edited.</summary>
    private sealed class FakePamAuthUpdate(string root) : ProcessRunner
    {
        public List<string> Calls { get; } = [];
        public bool HandEdited { get; set; }

        public override Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, CancellationToken ct = default,
            IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
        {
            Calls.Add($"{Path.GetFileName(program)} {string.Join(' ', args)} DEBIAN_FRONTEND={env?["DEBIAN_FRONTEND"]}");
            if (HandEdited) return Task.FromResult(new ProcessResult(0, "pam-auth-update: Local modifications to /etc/pam.d/common-*, not updating.", ""));
            var lines = Templates.PamSessionLines(new AicaConfig()).Select(l => l.Replace("session ", "session\t"));
            foreach (var f in Templates.PamSessionFiles) File.AppendAllLines(root + f, lines);
            return Task.FromResult(new ProcessResult(0, "", ""));
        }
    }

    public SessionSpecs()
    {
        _runner = new FakePamAuthUpdate(_root);
        (_fs, _ctx) = EngineRoot.Open(_root, _runner);
        Directory.CreateDirectory(Path.Combine(_root, "etc/pam.d"));
        foreach (var f in Templates.PamSessionFiles) File.WriteAllText(_root + f, "session\trequired\tpam_unix.so\n");
    }

    public void Dispose()
    {
        _fs.Dispose();
        Directory.Delete(_root, true);
    }

    [Trait("level", "unit")]
    [Fact]
    public void The_profile_sets_the_variables_for_everyone_and_umask_002_only_for_members_of_the_group()
    {
        var c = new AicaConfig() with { Group = "lab" };
        Assert.Equal(
            [
                "session optional pam_env.so readenv=0 user_readenv=0 conffile=/etc/security/aica_env.conf",
                "session [success=ignore default=1] pam_succeed_if.so quiet user ingroup lab",
                "session optional pam_umask.so umask=0002",
            ],
            Templates.PamSessionLines(c).Select(l => string.Join(' ', l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))));
        Assert.Contains("Session-Type: Additional", Templates.PamProfile(c));
        Assert.DoesNotContain("Session-Interactive-Only", Templates.PamProfile(c)); // cron and systemd --user use the non-interactive stack
    }

    [Trait("level", "unit")]
    [Fact]
    public void Pam_env_values_are_quoted_and_its_expansions_escaped()
    {
        var env = Templates.PamEnv(new AicaConfig() with { TorchHome = "/data/models/t$rch@x y" });
        Assert.Contains("TORCH_HOME        DEFAULT=\"/data/models/t\\$rch\\@x y\"", env);
        Assert.Contains("HF_HUB_CACHE      DEFAULT=\"/data/models/huggingface/hub\"", env);
        foreach (var v in EnvVariables) Assert.Contains(v + " ", env);
    }

    /// <summary>The variables /etc/profile.d/aica.sh exports are exactly the ones PAM sets.</summary>
    private static readonly string[] EnvVariables = ["CONDA_PKGS_DIRS", "TORCH_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "COMFYUI_HOME", "FLUX_HOME", "MODELS_DIR"];

    [Trait("level", "unit")]
    [Fact]
    public void Profile_d_and_pam_env_export_the_same_variables()
    {
        var profile = Templates.Profile(new AicaConfig());
        foreach (var v in EnvVariables) Assert.Contains($"export {v}=", profile);
        Assert.Equal(EnvVariables.Length, profile.Split('\n').Count(l => l.StartsWith("export ", StringComparison.Ordinal) && !l.StartsWith("export PATH", StringComparison.Ordinal)));
    }

    [Trait("level", "unit")]
    [Fact]
    public void Session_items_exist_only_where_debian_pam_auth_update_does_and_the_path_link_always()
    {
        var db = AccountDb.Load(_fs, _runner);
        var c = new AicaConfig() with { Gid = 2500 };
        string[] Ids(bool debian) => new DesiredStateBuilder(c, HomeLayouts.Supported.Find) { DebianPam = debian }
            .Build(Registry.Parse(""), db, null).Units.SelectMany(u => u.Items).Select(i => $"{i.Id}:{i.Subject}").ToArray();
        var debianIds = Ids(true);
        Assert.Contains("session.env:/etc/security/aica_env.conf", debianIds);
        Assert.Contains("session.umask:/usr/share/pam-configs/aica", debianIds);
        Assert.Contains("session.umask:/etc/pam.d/common-session", debianIds);
        Assert.Contains("session.umask:/etc/pam.d/common-session-noninteractive", debianIds);
        Assert.Contains("bin.path:/usr/local/bin/aica", debianIds);
        var other = Ids(false);
        Assert.DoesNotContain(other, i => i.StartsWith("session.", StringComparison.Ordinal));
        Assert.Contains("bin.path:/usr/local/bin/aica", other);
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task A_stack_without_the_lines_drifts_apply_runs_pam_auth_update_once_and_then_nothing()
    {
        var lines = Templates.PamSessionLines(new AicaConfig());
        var state = new DesiredState([new Unit(Phase.Etc, "sessions", null,
            Templates.PamSessionFiles.Select(f => (Item)new PamStackItem(f, "aica", lines)).ToList())], []);
        var engine = new StateEngine(_ctx);
        Assert.Equal(2, engine.Plan(state).Count);
        Assert.Contains(engine.Check(state), r => r.Id == "session.umask:/etc/pam.d/common-session" && r.Status == CheckStatus.Fail);

        var report = await engine.Apply(state, TestContext.Current.CancellationToken);
        Assert.False(report.AnyFailed);
        // One run fixes both stacks (pam-auth-update writes every common-session file), under --root with its --root.
        Assert.Equal([$"pam-auth-update --root {_root} --package --enable aica DEBIAN_FRONTEND=noninteractive"], _runner.Calls);
        Assert.Empty(engine.Plan(state));
        Assert.All(engine.Check(state), r => Assert.Equal(CheckStatus.Pass, r.Status));
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task A_hand_edited_stack_that_pam_auth_update_refuses_is_reported_with_the_manual_fix()
    {
        _runner.HandEdited = true;
        var item = new PamStackItem("/etc/pam.d/common-session", "aica", Templates.PamSessionLines(new AicaConfig()));
        var state = new DesiredState([new Unit(Phase.Etc, "sessions", null, [item])], []);
        var report = await new StateEngine(_ctx).Apply(state, TestContext.Current.CancellationToken);
        var failed = Assert.Single(report.Actions);
        Assert.False(failed.Ok);
        Assert.Contains("Local modifications", failed.Error);
        Assert.Contains("by hand", failed.Error);
        Assert.Contains("pam-auth-update --force --enable aica", failed.Error);
    }

    /// <summary>On the simulated server (real pam-auth-update, real su through PAM, overlays on /etc, /usr and /var).</summary>
    private const string InitAndLook = """
        $AICA init --gid 2500 -q || exit 10
        groupadd -g 3001 alice && useradd -u 3001 -g 3001 -G gpu-users -s /bin/bash -d /home/alice -M alice || exit 11
        echo "alice:gpu-users:3001:3001:/bin/bash:symlink" >> /data/config/users.txt
        groupadd -g 3002 outsider && useradd -u 3002 -g 3002 -s /bin/bash -d /tmp -M outsider || exit 12
        /data/bin/aica recover > /run/recover.out || { cat /run/recover.out; exit 13; }
        """ + "\n" + Look;

    private const string Look = """
        look() {
          echo "link $(readlink /usr/local/bin/aica)"
          for f in /etc/pam.d/common-session /etc/pam.d/common-session-noninteractive; do
            echo "$f $(grep -c -e pam_umask.so -e aica_env.conf $f)"
          done
          echo "alice su: $(su alice -c 'umask; echo $HF_HUB_CACHE' | tr '\n' ' ')"
          echo "outsider su: $(su outsider -c 'umask; echo $HF_HUB_CACHE' | tr '\n' ' ')"
          echo "root path: $(env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c 'command -v aica')"
          /data/bin/aica doctor -v > /run/doctor.out; echo "doctor=$?"
          grep -E 'session\.|bin\.path' /run/doctor.out | cut -c1-90
        }
        """;

    [Trait("level", "sim")]
    [Fact]
    public void Init_installs_the_session_layer_and_the_path_link_recover_keeps_it_and_a_full_reset_brings_it_back()
    {
        Require.Root();
        using var sim = new SimServer();
        var r = sim.Boot(Reset.None, InitAndLook + "\n" + """
            look
            /data/bin/aica recover > /run/again.out; echo "second recover: $(grep -c DONE /run/again.out) changes"
            $AICA init | tail -1
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        var o = r.StdOut;
        Assert.Contains("link /data/bin/aica", o);
        Assert.Contains("/etc/pam.d/common-session 2", o);
        Assert.Contains("/etc/pam.d/common-session-noninteractive 2", o);
        Assert.Contains("alice su: 0002 /data/models/huggingface/hub", o);
        Assert.Contains("outsider su: 0022 /data/models/huggingface/hub", o); // variables for all, the group umask for members only
        Assert.Contains("root path: /usr/local/bin/aica", o);
        Assert.Contains("doctor=0", o);
        foreach (var id in new[] { "session.env:/etc/security/aica_env.conf", "session.umask:/usr/share/pam-configs/aica",
                     "session.umask:/etc/pam.d/common-session", "bin.path:/usr/local/bin/aica" })
            Assert.Contains($"[PASS] {id}", o);
        Assert.Contains("second recover: 0 changes", o);
        Assert.Contains("init: no changes", o);

        // A full reset returns /etc, /usr and /var to the image: recover puts the whole layer back.
        var after = sim.Boot(Reset.Full, """
            test -e /usr/local/bin/aica && exit 20
            grep -q pam_umask /etc/pam.d/common-session && exit 21
            /data/bin/aica recover > /run/recover.out || { cat /run/recover.out; exit 22; }
            """ + "\n" + Look + "\nlook");
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains("alice su: 0002 /data/models/huggingface/hub", after.StdOut);
        Assert.Contains("[PASS] session.umask:/etc/pam.d/common-session-noninteractive", after.StdOut);
        Assert.Contains("link /data/bin/aica", after.StdOut);
    }

    [Trait("level", "sim")]
    [Fact]
    public void A_tampered_session_layer_and_path_link_fail_doctor_and_recover_repairs_them()
    {
        var r = SimServer.BootOnce(Reset.None, InitAndLook + "\n" + """
            ln -sfn /tmp/evil /usr/local/bin/aica
            echo 'TORCH_HOME DEFAULT=/tmp/torch' > /etc/security/aica_env.conf
            /data/bin/aica doctor -v > /run/d1.out; echo "doctor-before=$?"
            grep -E '^\[FAIL\] (session|bin\.path)' /run/d1.out | cut -d' ' -f2
            /data/bin/aica recover > /dev/null; echo "recover=$?"
            look
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("doctor-before=1", r.StdOut);
        Assert.Contains("bin.path:/usr/local/bin/aica", r.StdOut);
        Assert.Contains("session.env:/etc/security/aica_env.conf", r.StdOut);
        Assert.Contains("recover=0", r.StdOut);
        Assert.Contains("link /data/bin/aica", r.StdOut);
        Assert.Contains("alice su: 0002 /data/models/huggingface/hub", r.StdOut);
        Assert.Contains("doctor=0", r.StdOut);
    }

    [Trait("level", "sim")]
    [Fact]
    public void Lines_removed_by_hand_come_back_with_the_admins_own_lines_kept_and_a_stack_pam_auth_update_refuses_is_reported()
    {
        var r = SimServer.BootOnce(Reset.None, InitAndLook + "\n" + """
            # 1. The aica lines deleted, an admin's line above the managed block: pam-auth-update puts them back, keeps it.
            sed -i '/pam_umask.so/d' /etc/pam.d/common-session
            sed -i '1i session optional pam_exec.so quiet /bin/true # admin' /etc/pam.d/common-session
            /data/bin/aica recover > /run/r1.out; echo "recover1=$?"
            echo "restored $(grep -c -e pam_umask.so -e '# admin' /etc/pam.d/common-session)"
            # 2. A line added inside the managed block: pam-auth-update refuses the stack ("local modifications").
            sed -i '/pam_umask.so/d; /^# end of pam-auth-update config/i session\toptional\tpam_exec.so quiet /bin/false' /etc/pam.d/common-session
            cp /etc/pam.d/common-session /run/edited
            rm /home/alice
            /data/bin/aica recover > /run/r2.out 2>&1; echo "recover2=$?"
            grep -E '^\[FAIL\]' /run/r2.out
            grep -E '^recovered' /run/r2.out
            cmp -s /etc/pam.d/common-session /run/edited && echo stack-untouched
            echo "home $(readlink /home/alice)"
            /data/bin/aica doctor -v > /run/d.out; echo "doctor=$?"
            grep -E '^\[FAIL\] session.umask:/etc/pam.d/common-session ' /run/d.out | cut -c1-120
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        var o = r.StdOut;
        Assert.Contains("recover1=0", o);
        Assert.Contains("restored 2", o);
        Assert.Contains("stack-untouched", o);              // aica never forces a stack pam-auth-update refuses
        Assert.Contains("Local modifications", o);          // the FAIL line says why...
        Assert.Contains("by hand", o);                      // ...and what to do
        Assert.Contains("recovered 1 users, 0 failed", o);  // the users come back all the same
        Assert.Contains("home /data/users/alice", o);
        Assert.Contains("doctor=1", o);
        Assert.Contains("[FAIL] session.umask:/etc/pam.d/common-session ", o);
    }
}
