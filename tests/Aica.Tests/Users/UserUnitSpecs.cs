using Aica.Accounts;
using Aica.Config;
using Aica.Users;

namespace Aica.Tests.Users;

/// <summary>The pure parts of the user lifecycle: key parsing, managed rc blocks, retired uids.</summary>
[Trait("level", "unit")]
public sealed class UserUnitSpecs
{
    public const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3s7yh/k/xDZhgzj+GsH2GGoIWqHdd0fte0bisvN1ik alice@laptop";

    [Fact]
    public void A_real_public_key_parses_and_keeps_its_comment()
    {
        var (key, reason) = PublicKey.Parse(Ed25519 + "\n");
        Assert.Null(reason);
        Assert.Equal("ssh-ed25519", key!.Type);
        Assert.Equal(Ed25519, key.Line);
        Assert.True(key.IsIn("# keys\n" + Ed25519.Replace("alice@laptop", "other") + "\n"));
        Assert.False(key.IsIn("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOTHER\n"));
    }

    [Theory]
    [InlineData("\n\n")]
    [InlineData("\r\n\r\n")]
    public void Blank_lines_after_the_key_are_accepted(string tail)
    {
        var (key, reason) = PublicKey.Parse(Ed25519 + tail);
        Assert.Null(reason);
        Assert.Equal(Ed25519, key!.Line);
    }

    [Theory]
    [InlineData("garbage", "not an OpenSSH public key")]
    [InlineData("ssh-ed25519 !!!notbase64!!!", "not valid base64")]
    [InlineData("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG3s7yh/k/xDZhgzj+GsH2GGoIWqHdd0fte0bisvN1ik", "does not match its type")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", "private key")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3s7yh/k/xDZhgzj+GsH2GGoIWqHdd0fte0bisvN1ik a\nssh-ed25519 AAAA b", "embedded newlines")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3s7yh/k/xDZhgzj+GsH2GGoIWqHdd0fte0bisvN1ik a\rcommand=\"sh\"", "embedded newlines")]
    [InlineData("command=\"/bin/sh\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3s7yh/k/xDZhgzj+GsH2GGoIWqHdd0fte0bisvN1ik", "unsupported key type")]
    [InlineData("", "not an OpenSSH public key")]
    public void Anything_but_one_public_key_line_is_rejected_with_a_reason(string text, string reason)
    {
        var (key, why) = PublicKey.Parse(text);
        Assert.Null(key);
        Assert.Contains(reason, why);
    }

    [Fact]
    public void The_managed_block_is_added_once_replaced_in_place_and_never_duplicated()
    {
        var block = $"{ManagedBlockItem.Begin}\numask 002\n{ManagedBlockItem.End}\n";
        var user = "# user's own\nexport A=1";
        var once = ManagedBlockItem.Merge(user, block);
        Assert.Equal(user + "\n" + block, once);
        Assert.Equal(once, ManagedBlockItem.Merge(once, block));
        var newer = block.Replace("umask 002", "umask 002\nexport B=2");
        var replaced = ManagedBlockItem.Merge(once + "# after\n", newer);
        Assert.Equal(user + "\n" + newer + "# after\n", replaced);
        var doubled = ManagedBlockItem.Merge(once + block, block);
        Assert.Equal(once, doubled);
        Assert.Equal(block, ManagedBlockItem.Merge("", block));
    }

    [Fact]
    public void Retired_uids_survive_rewrites_and_are_never_allocated_to_someone_else()
    {
        var reg = Registry.Parse("# header\nbob:gpu-users:1000:1000:/bin/bash:symlink\nbob2:gpu-users:1001:1001:/bin/bash:symlink\nb.b:gpu-users\n");
        Assert.True(reg.Remove("bob"));
        reg.Retire(1000, "bob", "2026-01-01T00:00:00");
        reg.Retire(1000, "bob", "2026-01-01T00:00:00");
        var again = Registry.Parse(reg.Render());
        Assert.Equal([(1000, "bob")], again.RetiredUids());
        Assert.Contains("bob2:gpu-users:1001", again.Render());
        Assert.Contains("b.b:gpu-users", again.Render());
        Assert.Single(again.Render().Split('\n'), l => l.StartsWith("# retired uid 1000 (bob)"));

        var db = new AccountDb("root:x:0:0::/root:/bin/bash\n", "root:x:0:\n");
        Assert.Equal(1002, UserService.AllocateUid("carol", db, again, again.RetiredUids()));
        Assert.Equal(1000, UserService.AllocateUid("bob", db, again, again.RetiredUids())); // a returning user gets their own uid back
    }
}
