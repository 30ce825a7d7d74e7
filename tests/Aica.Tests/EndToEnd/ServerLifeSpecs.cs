using Aica.Tests.Infra;

namespace Aica.Tests.EndToEnd;

/// <summary>
/// The whole product on one simulated server, as its admins and members use it: init, two users of both layouts,
/// members sharing a cache through login shells, an admin upload fixed and verified as a member, then a full reset
/// and recover. Each feature has its own specs; this one proves they work together.
/// </summary>
[Trait("level", "sim")]
public sealed class ServerLifeSpecs
{
    [Fact]
    public void A_server_set_up_with_aica_is_shared_by_members_and_survives_a_full_reset()
    {
        Require.Root();
        using var sim = new SimServer();
        var day1 = sim.Boot(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            A=/data/bin/aica
            $A user add alice --uid 3001 -q || exit 11
            $A user add bob --uid 3002 --layout hybrid -q || exit 12
            # Login shells get the variables and the group-friendly umask.
            su - alice -c 'echo "alice umask=$(umask) pkgs=$CONDA_PKGS_DIRS"'
            su - bob -c 'echo "bob umask=$(umask) hub=$HF_HUB_CACHE"'
            # One member fills a shared cache, the other may extend it.
            su - alice -c 'mkdir -p "$HF_HUB_CACHE/models--org--m" && echo weights > "$HF_HUB_CACHE/models--org--m/w"' || exit 13
            su - bob -c 'echo more >> /data/models/huggingface/hub/models--org--m/w' && echo "bob-wrote-shared=ok"
            su - bob -c 'echo mine > ~/data/notes.txt; echo pref > ~/.vimrc' || exit 14
            # An admin upload with the wrong owner and mode, fixed and checked as a member by the kernel.
            mkdir -p /data/dataset/corpus/part1 && echo text > /data/dataset/corpus/part1/a.txt
            chown -R 4242:4242 /data/dataset/corpus && chmod -R 700 /data/dataset/corpus
            $A data verify --user bob -q >/dev/null; echo "verify-before=$?"
            $A data fix -q; echo "fix=$?"
            $A data verify --user bob -q >/dev/null; echo "verify-after=$?"
            $A perms -q; echo "perms=$?"
            $A user list -q; echo "list=$?"
            $A doctor -q > /run/doctor.txt; echo "doctor=$?"
            su - alice -c "$A env --json" > /run/env.json; echo "env=$?"
            grep -q '"name": *"alice"' /run/env.json && grep -q '"registered": *true' /run/env.json && echo env-user-ok
            """);
        var o1 = day1.StdOut;
        Assert.True(day1.ExitCode == 0, day1.ToString());
        Assert.Contains("alice umask=0002 pkgs=/data/cache/conda/pkgs", o1);
        Assert.Contains("bob umask=0002 hub=/data/models/huggingface/hub", o1);
        Assert.Contains("bob-wrote-shared=ok", o1);
        Assert.Contains("verify-before=1", o1);
        foreach (var ok in new[] { "fix=0", "verify-after=0", "perms=0", "list=0", "doctor=0", "env=0", "env-user-ok" })
            Assert.Contains(ok, o1);

        var day2 = sim.Boot(Reset.Full, """
            id alice >/dev/null 2>&1 && exit 20
            /data/bin/aica recover -q || exit 21
            id -u alice; id -u bob; id -nG bob
            su - bob -c 'cat ~/data/notes.txt ~/.vimrc /data/models/huggingface/hub/models--org--m/w; echo "umask=$(umask)"'
            /data/bin/aica data verify --user alice -q >/dev/null; echo "verify=$?"
            /data/bin/aica doctor -q > /run/doctor.txt; echo "doctor=$?"; cat /run/doctor.txt
            /data/bin/aica recover --json | grep -o '"changes": *[0-9]*\|"actions": *\[\]' | head -1
            """);
        var o2 = day2.StdOut;
        Assert.True(day2.ExitCode == 0, day2.ToString());
        Assert.Contains("3001\n3002\nbob gpu-users\n", o2);
        Assert.Contains("mine\npref\nweights\nmore\numask=0002", o2);
        Assert.Contains("verify=0", o2);
        Assert.Contains("doctor=0", o2);
        Assert.Contains("\"actions\": []", o2.Replace("\"actions\":[]", "\"actions\": []"));
    }
}
