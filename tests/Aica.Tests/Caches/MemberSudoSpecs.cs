using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>End to end on a simulated server: a real member runs the sudoers forms init installed, with real sudo.</summary>
[Trait("level", "sim")]
public sealed class MemberSudoSpecs
{
    private static readonly string Setup = """
        command -v sudo >/dev/null || { echo "no sudo"; exit 9; }

        """ + SimServer.InitWithMembers("alice:3001 bob:3002") + """
        test -f /etc/sudoers.d/aica || exit 13
        for n in alice bob; do
          mkdir -p /data/users/$n/.cache/pip/http /data/users/$n/.npm/_cacache
          echo x > /data/users/$n/.cache/pip/http/f; echo y > /data/users/$n/.npm/_cacache/g
          chown -R $n:$n /data/users/$n/.cache /data/users/$n/.npm
        done
        # carol is in the group (so the sudoers rule lets her in) but not registered
        groupadd -g 3003 carol && useradd -u 3003 -g 3003 -G gpu-users -s /bin/bash -d /home/carol -M carol || exit 14
        mkdir -p /data/models/torch/hub && echo model > /data/models/torch/hub/w.pth
        echo secret > /etc/victim
        """;

    [Fact]
    public void A_member_runs_exactly_the_safe_forms_through_sudo_and_nothing_else()
    {
        var r = SimServer.BootOnce(Reset.None, Setup + """

            echo "---"
            sudo -u alice sudo -n /data/bin/aica clean --pip; echo "pip=$?"
            test -f /data/users/alice/.cache/pip/http/f && echo "alice-pip=kept" || echo "alice-pip=cleaned"
            test -f /data/users/bob/.cache/pip/http/f && echo "bob-pip=kept" || echo "bob-pip=cleaned"
            sudo -u alice sudo -n /data/bin/aica clean --root / --pip 2>/dev/null; echo "sudo-root=$?"
            sudo -u alice sudo -n /data/bin/aica clean --pip /etc 2>/dev/null; echo "sudo-path=$?"
            sudo -u alice sudo -n /data/bin/aica clean --pip --user bob 2>/dev/null; echo "sudo-user=$?"
            sudo -u alice sudo -n /data/bin/aica clean --torch 2>/dev/null; echo "sudo-torch=$?"
            sudo -u alice sudo -n /data/bin/aica clean --all --older-than 0 2>/dev/null; echo "sudo-all=$?"
            sudo -u alice sudo -n /data/bin/aica disk --threshold 1 2>/dev/null; echo "sudo-threshold=$?"
            sudo -u alice sudo -n /data/bin/aica disk >/dev/null; echo "disk=$?"
            sudo -u alice sudo -n /data/bin/aica clean --hf --dry-run >/dev/null; echo "hf-dry=$?"
            # aica's own refusals, for a member calling it directly (what the member menu runs)
            sudo -u alice /data/bin/aica clean --pip --uv --npm >/dev/null; echo "menu=$?"
            test -f /data/users/alice/.npm/_cacache/g && echo "alice-npm=kept" || echo "alice-npm=cleaned"
            sudo -u alice /data/bin/aica clean --pip --user bob 2>/dev/null; echo "self-user=$?"
            sudo -u alice /data/bin/aica clean --torch 2>/dev/null; echo "self-torch=$?"
            sudo -u alice /data/bin/aica --root / clean --pip 2>/dev/null; echo "self-root=$?"
            # root acting for a member (SUDO_UID) is held to the member's rules too
            SUDO_UID=3001 /data/bin/aica --root / clean --pip 2>/dev/null; echo "sudo-uid-root=$?"
            SUDO_UID=3001 /data/bin/aica clean --torch 2>/dev/null; echo "sudo-uid-torch=$?"
            # an unregistered group member is a member too, not an admin who may clean everyone's caches
            sudo -u carol sudo -n /data/bin/aica clean --pip 2>/dev/null; echo "carol-pip=$?"
            sudo -u carol sudo -n /data/bin/aica clean --pip --uv --npm 2>/dev/null; echo "carol-all3=$?"
            test -f /data/users/bob/.npm/_cacache/g && echo "bob-npm-end=kept"
            echo "admin-hint=$(SUDO_UID=3003 /data/bin/aica clean --torch 2>&1 | grep -c 'sudo env -u SUDO_UID')"
            # a uid aica cannot resolve (an account from LDAP, say) is not taken for an admin either
            SUDO_UID=4242 /data/bin/aica clean --pip 2>/dev/null; echo "sudo-uid-unknown=$?"
            test -f /data/users/bob/.cache/pip/http/f && echo "bob-pip-end=kept"
            test -f /data/models/torch/hub/w.pth && echo "torch=kept"
            cat /etc/victim
            grep -c 'clean --all --older-than 30' /etc/cron.d/aica
            grep -c 'aica disk' /etc/cron.d/aica
            grep -c 'NOPASSWD: ALL' /etc/sudoers.d/aica; true
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        var o = r.StdOut[r.StdOut.IndexOf("---", StringComparison.Ordinal)..];
        foreach (var want in new[]
                 {
                     "pip=0", "alice-pip=cleaned", "bob-pip=kept", "sudo-root=1", "sudo-path=1", "sudo-user=1", "sudo-torch=1",
                     "sudo-all=1", "sudo-threshold=1", "disk=0", "hf-dry=0", "menu=0", "alice-npm=cleaned", "self-user=3",
                     "self-torch=3", "self-root=3", "sudo-uid-root=3", "sudo-uid-torch=3", "carol-pip=3", "carol-all3=3", "bob-npm-end=kept", "admin-hint=1",
                     "sudo-uid-unknown=3", "bob-pip-end=kept", "torch=kept", "secret",
                 })
            Assert.Contains(want + "\n", o);
        Assert.EndsWith("1\n1\n0\n", o);
    }
}
