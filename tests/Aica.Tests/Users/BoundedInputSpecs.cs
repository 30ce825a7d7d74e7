using System.Text;
using System.Text.Json;
using Aica.Engine;
using Aica.Site;
using Aica.Tests.Integration;
using Aica.Tests.Infra;
using Aica.Users;

namespace Aica.Tests.Users;

/// <summary>
/// SPEC §6.10, issue 10 findings 2 and 4: work on member-controlled input is linear and bounded. Sizes are large enough
/// that a quadratic algorithm would not finish (or would spend the user's budget), small enough for the suite;
/// bench/adversarial.sh runs the full sizes.
/// Its recover runs in process where a test sets the budgets (the "cli" collection: one in-process command at a time).
/// </summary>
[Collection("cli")]
public sealed class BoundedInputSpecs
{
    private static readonly byte[] Block = Encoding.UTF8.GetBytes($"{ManagedBlockItem.Begin}\numask 002\n{ManagedBlockItem.End}\n");

    private static byte[] Markers(int n) => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(ManagedBlockItem.Begin + "\n", n)));

    // ---- rc blocks: one pass ----

    [Trait("level", "unit")]
    [Fact(Timeout = 30_000)]
    public async Task Merge_of_300k_begin_markers_without_end_is_one_pass_keeps_them_and_adds_one_block()
    {
        await Task.Run(() =>
        {
            var text = Markers(300_000); // 4.5 MB: the old merge rescanned to the end for each marker
            Assert.True(text.Length > 4_000_000);
            var merged = ManagedBlockItem.Merge(text, Block);
            Assert.Equal([.. text, .. Block], merged);
            Assert.Equal(merged, ManagedBlockItem.Merge(merged, Block)); // the second run changes nothing
        }, TestContext.Current.CancellationToken);
    }

    [Trait("level", "unit")]
    [Fact(Timeout = 30_000)]
    public async Task Merge_of_300k_complete_blocks_keeps_exactly_one_in_place_of_the_first()
    {
        await Task.Run(() =>
        {
            var old = Encoding.ASCII.GetBytes($"{ManagedBlockItem.Begin}\nold\n{ManagedBlockItem.End}\n");
            var text = Encoding.ASCII.GetBytes("# mine\n").Concat(Enumerable.Range(0, 300_000).SelectMany(_ => old)).Concat("tail\n"u8.ToArray()).ToArray();
            var merged = ManagedBlockItem.Merge(text, Block);
            Assert.Equal([.. "# mine\n"u8.ToArray(), .. Block, .. "tail\n"u8.ToArray()], merged);
        }, TestContext.Current.CancellationToken);
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_stray_begin_marker_never_swallows_the_users_lines_on_a_later_run()
    {
        // The old merge paired the stray marker with the end of aica's appended block on the second run and deleted
        // everything between: the user's export.
        var user = Encoding.ASCII.GetBytes($"{ManagedBlockItem.Begin}\nexport FOO=1\n");
        var once = ManagedBlockItem.Merge(user, Block);
        Assert.Equal([.. user, .. Block], once);
        Assert.Equal(once, ManagedBlockItem.Merge(once, Block));
        // A begin marker inside a block starts the block; the one before it is the user's text.
        var nested = Encoding.ASCII.GetBytes($"{ManagedBlockItem.Begin}\nkeep me\n{ManagedBlockItem.Begin}\nold\n{ManagedBlockItem.End}\n{ManagedBlockItem.End}\n");
        Assert.Equal(Encoding.ASCII.GetBytes($"{ManagedBlockItem.Begin}\nkeep me\n").Concat(Block).Concat(Encoding.ASCII.GetBytes($"{ManagedBlockItem.End}\n")),
            ManagedBlockItem.Merge(nested, Block));
    }

    [Trait("level", "unit")]
    [Fact]
    public void Merge_keeps_non_utf8_bytes_exactly_and_accepts_markers_with_a_trailing_cr()
    {
        byte[] latin1 = [.. "# caf"u8, 0xE9, (byte)'\n', .. Encoding.ASCII.GetBytes($"{ManagedBlockItem.Begin}\r\nold\n{ManagedBlockItem.End}  \r\n"), 0xFF, 0xFE, (byte)'\n'];
        var merged = ManagedBlockItem.Merge(latin1, Block);
        Assert.Equal([.. "# caf"u8, 0xE9, (byte)'\n', .. Block, 0xFF, 0xFE, (byte)'\n'], merged);
    }

    // ---- capped reports ----

    [Trait("level", "unit")]
    [Fact]
    public void A_capped_list_keeps_the_first_lines_and_counts_the_rest()
    {
        var list = new CappedList();
        for (var i = 0; i < 1_000_000; i++) list.Add($"/data/users/bob/l{i} -> /etc/shadow");
        Assert.Equal(1_000_000, list.Total);
        Assert.Equal(CappedList.DefaultMax + 1, list.Count);
        Assert.Equal("/data/users/bob/l0 -> /etc/shadow", list[0]);
        Assert.Equal($"... and {1_000_000 - CappedList.DefaultMax} more", list[^1]);
        Assert.True(list.Join("; ").Length < 2000);
        Assert.Equal(["a", "b"], CappedList.Of(["a", "b"]));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_budget_runs_out_after_its_steps_and_says_so_but_a_cancelled_command_is_not_a_spent_budget()
    {
        using var budget = new WorkBudget("bob", TimeSpan.FromHours(1), CancellationToken.None, maxSteps: 3);
        budget.Enter();
        for (var i = 0; i < 3; i++) budget.Step();
        Assert.Throws<OperationCanceledException>(budget.Step);
        Assert.True(budget.Exceeded);
        Assert.True(budget.Token.IsCancellationRequested); // a child process (useradd) started with it is killed

        using var outer = new CancellationTokenSource();
        using var other = new WorkBudget("alice", TimeSpan.FromHours(1), outer.Token);
        other.Enter();
        outer.Cancel();
        Assert.Throws<OperationCanceledException>(other.Step);
        Assert.False(other.Exceeded); // SIGTERM: the whole recover stops (exit 130), no user is blamed

        using var spent = new WorkBudget("carol", TimeSpan.Zero, CancellationToken.None);
        spent.Enter();
        Assert.True(spent.Exceeded);
        Assert.True(WorkBudget.None.Limit == Timeout.InfiniteTimeSpan);

        // The budget for all users together: a user whose turn comes after it is spent fails at once, and says why.
        using var late = new WorkBudget("dave", TimeSpan.FromSeconds(20), CancellationToken.None, totalLeft: () => TimeSpan.Zero);
        late.Enter();
        Assert.True(late.Exceeded);
        Assert.True(late.CutByTotal);
        Assert.Contains("for all users", late.Describe);
        Assert.Equal("its time budget of 20 s ran out", new WorkBudget("x", TimeSpan.FromSeconds(20), CancellationToken.None).Describe);
    }

    // ---- end to end (dist/aica --root on a sandbox) ----

    private static Dictionary<string, string> Budget(double seconds) =>
        new() { [BudgetPolicy.PerUserEnv] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    /// <summary>
    /// recover in process with the test's budgets: <paramref name="user"/>'s budget (20 s) counts as spent after
    /// <paramref name="steps"/> work steps, so a pathological home is deterministic without huge trees or timing.
    /// </summary>
    private static RunResult RecoverSpendingAfter(Sandbox sb, string user, long steps)
    {
        var budgets = new BudgetPolicy(TimeSpan.FromSeconds(20), BudgetPolicy.DefaultTotal, new Dictionary<string, long> { [user] = steps });
        var (code, o, e) = InProcess.Run(options => new AicaServices(options) { RecoverBudgets = budgets }, "--root", sb.Root, "recover");
        return new RunResult(code, o, e);
    }

    private static RunResult Recover(Sandbox sb, Dictionary<string, string> env, params string[] extra) =>
        Tools.Run(Tools.AicaBin, ["--root", sb.Root, .. extra, "recover"], env, timeoutSeconds: 120);

    /// <summary>mallory registered and recovered, then <paramref name="n"/> links to /etc/shadow planted in <paramref name="folder"/>.</summary>
    private static Sandbox MalloryWithLinksToShadow(string folder, int n)
    {
        var sb = Sandbox.WithUsers("mallory");
        try
        {
            Assert.Equal(0, sb.Aica("recover").ExitCode);
            Directory.CreateDirectory(sb.P(folder));
            for (var i = 0; i < n; i++) File.CreateSymbolicLink(sb.P($"{folder}/l{i}"), "/etc/shadow");
            return sb;
        }
        catch
        {
            sb.Dispose();
            throw;
        }
    }

    private static JsonElement Status(Sandbox sb) => JsonDocument.Parse(File.ReadAllText(sb.P("/run/aica/recovery.json"))).RootElement;

    [Trait("level", "blackbox")]
    [Fact]
    public void A_member_rc_file_of_300k_begin_markers_is_merged_well_inside_a_short_budget()
    {
        using var sb = Sandbox.WithUsers("mallory", "alice");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        var zprofile = sb.P("/data/users/mallory/.zprofile");
        var planted = Markers(300_000);
        File.WriteAllBytes(zprofile, planted);
        // The quadratic merge took minutes here (4.7 s for 20,000 lines); one pass takes milliseconds: 10 s is plenty.
        var r = Recover(sb, Budget(10));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("recovered 2 users, 0 failed", r.StdOut);
        var after = File.ReadAllBytes(zprofile);
        Assert.Equal(planted, after[..planted.Length]); // the member's bytes are kept; one block appended
        var tail = Encoding.ASCII.GetString(after[planted.Length..]);
        Assert.StartsWith(ManagedBlockItem.Begin + "\n", tail);
        Assert.EndsWith(ManagedBlockItem.End + "\n", tail);
        Assert.Single(tail.Split('\n'), l => l == ManagedBlockItem.Begin);
        var again = Recover(sb, Budget(10));
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(after, File.ReadAllBytes(zprofile)); // steady state: nothing rewritten
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void An_rc_file_at_the_64_MiB_cap_is_handled_in_bounded_time_and_one_past_it_is_reported_not_read()
    {
        using var sb = Sandbox.WithUsers("mallory", "alice");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        var zprofile = sb.P("/data/users/mallory/.zprofile");
        // Exactly 64 MiB of begin markers (the read cap): read, merged, written in one pass.
        Tools.Sh($"yes '{ManagedBlockItem.Begin}' | head -c {64 << 20} > '{zprofile}'");
        Assert.Equal(64L << 20, new FileInfo(zprofile).Length);
        var r = Recover(sb, Budget(20));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("recovered 2 users, 0 failed", r.StdOut);
        Assert.True(new FileInfo(zprofile).Length > 64L << 20);
        // Now past the cap: a warning for that file only; the member's other items and the other users go on.
        File.Delete(sb.P("/data/users/mallory/.condarc"));
        File.Delete(sb.P("/home/alice")); // a home reset for alice
        var past = Recover(sb, Budget(20));
        Assert.Contains("over the 64 MiB aica reads", past.All); // problem lines go to stderr
        Assert.Contains("recovered 2 users, 0 failed", past.StdOut);
        Assert.True(File.Exists(sb.P("/data/users/mallory/.condarc")), past.ToString());
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Merging_20k_authorized_keys_lines_of_a_hybrid_ssd_copy_uses_a_set_and_keeps_every_key_once()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("bob", 3001, layout: "hybrid");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        static string Key(int i) => $"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i:D12}key bob@{i}";
        var persistent = sb.P("/data/users/bob/dotfiles/.ssh/authorized_keys");
        File.WriteAllText(persistent, string.Concat(Enumerable.Range(0, 10_000).Select(i => Key(i) + "\n")));
        // The SSD copy (a real ~/.ssh after someone replaced the link): 20,000 lines, half already persistent, one twice.
        File.Delete(sb.P("/home/bob/.ssh"));
        Directory.CreateDirectory(sb.P("/home/bob/.ssh"));
        File.WriteAllText(sb.P("/home/bob/.ssh/authorized_keys"), string.Concat(Enumerable.Range(5_000, 20_000).Append(24_999).Select(i => Key(i) + "\n")));
        // The quadratic merge took 35 s for 20,000 lines under the global lock; with a set it is milliseconds.
        var r = Recover(sb, Budget(10));
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = File.ReadAllLines(persistent);
        Assert.Equal(Enumerable.Range(0, 25_000).Select(Key), lines);
        Assert.Equal("/data/users/bob/dotfiles/.ssh", new FileInfo(sb.P("/home/bob/.ssh")).LinkTarget);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Twenty_thousand_planted_links_give_one_short_line_in_output_json_status_file_and_doctor()
    {
        const int n = 20_000; // bench/adversarial.sh plants a million
        using var sb = MalloryWithLinksToShadow("/data/users/mallory", n);
        var human = Recover(sb, Budget(20));
        Assert.Contains("mallory tampered: /data/users/mallory/l", human.All); // problem lines go to stderr
        Assert.Contains($"... and {n - CappedList.DefaultMax} more ({n} link(s) into system paths, never followed)", human.All); // problem lines go to stderr
        Assert.True(human.All.Length < 16_000, $"{human.All.Length} bytes of output");
        Assert.True(new FileInfo(sb.P("/run/aica/recovery.json")).Length < 16_000);
        Assert.Contains(Status(sb).GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains($"... and {n - CappedList.DefaultMax} more"));
        var json = Recover(sb, Budget(20), "--json");
        Assert.True(json.StdOut.Length < 16_000, $"{json.StdOut.Length} bytes of --json");
        JsonDocument.Parse(json.StdOut);
        var doctor = sb.Aica("--json", "doctor", "--user", "mallory");
        Assert.True(doctor.StdOut.Length < 32_000, $"{doctor.StdOut.Length} bytes of doctor --json");
        var check = JsonDocument.Parse(doctor.StdOut).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "user.tampered:mallory");
        Assert.Equal("warn", check.GetProperty("status").GetString());
        Assert.Contains($"({n} link(s) into system paths", check.GetProperty("summary").GetString());
        Assert.True(new FileInfo(sb.P("/data/admin/log/aica.log")).Length < 16_000);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void A_home_that_spends_its_users_budget_fails_that_user_and_the_others_still_recover()
    {
        using var sb = Sandbox.WithUsers("mallory", "alice", "carol"); // mallory registered first: the users after her must come back all the same
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        // A modest home stands in for ten million entries: the test hook spends mallory's budget after 1,000 steps
        // (one per item and one per entry the walks look at), so only a walk that honours the budget stops in time.
        Tools.Sh($"cd '{sb.P("/data/users/mallory")}' && seq 1 5000 | sed 's/^/f/' | xargs touch");
        foreach (var u in new[] { "mallory", "alice", "carol" }) File.Delete(sb.P($"/home/{u}")); // a home reset
        var r = RecoverSpendingAfter(sb, "mallory", 1000);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("recovered 2 users, 1 failed", r.StdOut);
        Assert.Contains("mallory: recovery stopped at", r.All);
        Assert.Contains("time budget of 20 s ran out", r.All);
        foreach (var u in new[] { "alice", "carol" }) Assert.Equal($"/data/users/{u}", new FileInfo(sb.P($"/home/{u}")).LinkTarget);
        var status = Status(sb);
        Assert.Equal("failed", status.GetProperty("status").GetString());
        Assert.Equal(1, status.GetProperty("failed").GetInt32());
        Assert.Equal(2, status.GetProperty("recovered").GetInt32());
        Assert.Contains(status.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("time budget"));
        Assert.Contains("recover: recovered 2 users, 1 failed", File.ReadAllText(sb.P("/data/admin/log/aica.log")));

        // The same hook with a small home: the budget is about the entries walked, not the user.
        Tools.Sh($"cd '{sb.P("/data/users/mallory")}' && find . -maxdepth 1 -name 'f*' -delete && seq 1 100 | sed 's/^/f/' | xargs touch");
        var small = RecoverSpendingAfter(sb, "mallory", 1000);
        Assert.True(small.ExitCode == 0, small.ToString());
        Assert.Contains("recovered 3 users, 0 failed", small.StdOut);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void A_hybrid_ssd_folder_that_spends_its_users_budget_stops_midway_and_the_next_recover_finishes_it_losing_nothing()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("hy", 3001, layout: "hybrid");
        sb.AddUser("alice", 3002);
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        // A real ~/.ssh on the SSD with 600 entries: merged into the persistent one entry by entry, one step each (each
        // entry crosses file systems: copied, synced, removed).
        File.Delete(sb.P("/home/hy/.ssh"));
        Directory.CreateDirectory(sb.P("/home/hy/.ssh"));
        for (var i = 0; i < 600; i++) File.WriteAllText(sb.P($"/home/hy/.ssh/k{i}"), $"{i}\n");
        File.Delete(sb.P("/home/alice"));
        var r = RecoverSpendingAfter(sb, "hy", 300);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("recovered 1 users, 1 failed", r.StdOut);
        Assert.Contains("hy: recovery stopped at /home/hy/.ssh", r.All);
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
        var moved = Directory.GetFiles(sb.P("/data/users/hy/dotfiles/.ssh"), "k*").Length;
        Assert.InRange(moved, 1, 599); // stopped midway, the rest still on the SSD
        Assert.Equal(600, moved + Directory.GetFiles(sb.P("/home/hy/.ssh"), "k*").Length);

        var again = Recover(sb, Budget(20));
        Assert.True(again.ExitCode == 0, again.ToString());
        for (var i = 0; i < 600; i++) Assert.Equal($"{i}\n", File.ReadAllText(sb.P($"/data/users/hy/dotfiles/.ssh/k{i}")));
        Assert.Equal("/data/users/hy/dotfiles/.ssh", new FileInfo(sb.P("/home/hy/.ssh")).LinkTarget);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void User_fix_lists_the_first_planted_links_and_counts_the_rest()
    {
        const int n = 5_000;
        using var sb = MalloryWithLinksToShadow("/data/users/mallory/deep/er", n);
        var human = sb.Aica("user", "fix", "mallory");
        Assert.Equal(1, human.ExitCode);
        Assert.Contains($"{n} tampered", human.All);
        Assert.Contains($"... and {n - Aica.Users.UserFix.MaxListed} more", human.All); // problem lines go to stderr
        Assert.Equal(Aica.Users.UserFix.MaxListed + 1, human.All.Split('\n').Count(l => l.Contains("tampered: ")));
        var json = JsonDocument.Parse(sb.Aica("--json", "user", "fix", "mallory").StdOut).RootElement;
        Assert.Equal(Aica.Users.UserFix.MaxListed + 1, json.GetProperty("tampered").GetArrayLength());
    }
}
