using Aica.Config;

namespace Aica.Tests.Foundation;

[Trait("level", "unit")]
public sealed class RegistrySpecs
{
    [Fact]
    public void Legacy_and_full_lines_parse_and_bad_lines_are_reported_with_line_numbers()
    {
        var text = "# users\r\n  # indented comment\r\nalice:gpu-users\r\n bob:gpu-users:3002:3002:/bin/bash:hybrid \r\n\r\n" +
                   "x:y:z:...\nAlice:gpu-users\n-rf:gpu-users\n../x:gpu-users\na b:gpu-users\nroot:gpu-users\ncarol:gpu-users:99:99:/bin/bash:symlink\n" +
                   "dave:gpu-users:3004:3004:/bin/bash:symlink";
        var r = Registry.Parse(text);
        Assert.Equal(["alice", "bob", "dave"], r.Users.Select(u => u.Name));
        Assert.True(r.Users[0].IsLegacy);
        Assert.Equal(3002, r.Users[1].Uid);
        Assert.Equal("hybrid", r.Users[1].Layout);
        Assert.Equal([6, 7, 8, 9, 10, 11, 12], r.Problems.Select(p => p.Line));
    }

    [Fact]
    public void A_byte_order_mark_does_not_cost_the_first_user()
    {
        var r = Registry.Parse("\uFEFFalice:gpu-users:3001:3001:/bin/bash:symlink\r\n# c\r\n");
        Assert.Equal(["alice"], r.Users.Select(u => u.Name));
        Assert.Empty(r.Problems);
        Assert.Equal(2500, Aica.Config.AicaConfig.Parse("\uFEFF[group]\r\ngid = 2500\r\n").Gid);
    }

    [Fact]
    public void Rewrite_keeps_comments_and_unparseable_lines_in_place()
    {
        var text = "# head\nalice:gpu-users\n# keep me\nthis is : garbage\nbob:gpu-users:3002:3002:/bin/bash:symlink";
        var r = Registry.Parse(text);
        Assert.True(r.Upsert(new UserEntry("alice", "gpu-users", 3001, 3001, "/bin/bash", "symlink")));
        Assert.True(r.Upsert(new UserEntry("carol", "gpu-users", 3003, 3003, "/bin/zsh", "hybrid")));
        Assert.Equal("# head\nalice:gpu-users:3001:3001:/bin/bash:symlink\n# keep me\nthis is : garbage\nbob:gpu-users:3002:3002:/bin/bash:symlink\n" +
                     "carol:gpu-users:3003:3003:/bin/zsh:hybrid\n", r.Render());
        Assert.False(r.Upsert(new UserEntry("carol", "gpu-users", 3003, 3003, "/bin/zsh", "hybrid")));
    }

    [Fact]
    public void Remove_matches_the_name_literally()
    {
        var r = Registry.Parse("bob:gpu-users\nbob2:gpu-users\n# bob:gpu-users\nbobby:gpu-users:3009:3009:/bin/bash:symlink\n");
        Assert.True(r.Remove("bob"));
        Assert.Equal("bob2:gpu-users\n# bob:gpu-users\nbobby:gpu-users:3009:3009:/bin/bash:symlink\n", r.Render());
        Assert.False(r.Remove("b.b"));
    }

    [Fact]
    public void Duplicates_are_reported_and_the_first_wins()
    {
        var r = Registry.Parse("bob:gpu-users:3002:3002:/bin/bash:symlink\nbob:gpu-users:3005:3005:/bin/bash:symlink\n");
        Assert.Single(r.Users);
        Assert.Equal(3002, r.Users[0].Uid);
        Assert.Contains("duplicate", r.Problems.Single().Reason);
    }
}
