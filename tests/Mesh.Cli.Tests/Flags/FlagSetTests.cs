using Mesh.Cli.Flags;

namespace Mesh.Cli.Tests.Flags;

public sealed class FlagSetTests
{
    [Theory]
    [InlineData("-name", "v")]
    [InlineData("--name", "v")]
    public void Parse_SeparateValue_SetsFlag(string flag, string value)
    {
        var fs = new FlagSet("Usage: x");
        var name = fs.String("name", "", "help");
        fs.Parse([flag, value, "rest"]);
        Assert.Equal("v", name());
        Assert.Equal(["rest"], fs.Args);
        Assert.Contains("name", fs.Given);
    }

    [Fact]
    public void Parse_EqualsValue_SetsFlagAndKeepsEqualsInValue()
    {
        var fs = new FlagSet("Usage: x");
        var name = fs.String("name", "", "help");
        fs.Parse(["-name=a=b"]);
        Assert.Equal("a=b", name());
    }

    [Fact]
    public void Parse_BoolWithoutValue_DoesNotConsumeNextArgument()
    {
        var fs = new FlagSet("Usage: x");
        var recurse = fs.Bool("recurse", false, "help");
        fs.Parse(["-recurse", "false"]);
        Assert.True(recurse());
        Assert.Equal(["false"], fs.Args);
    }

    [Fact]
    public void Parse_BoolExplicitFalse_ClearsDefault()
    {
        var fs = new FlagSet("Usage: x");
        var shell = fs.Bool("shell", true, "help");
        fs.Parse(["-shell=false"]);
        Assert.False(shell());
    }

    [Fact]
    public void Parse_FirstNonFlag_StopsParsing()
    {
        var fs = new FlagSet("Usage: x");
        var v = fs.Bool("v", false, "help");
        fs.Parse(["prefix", "-v"]);
        Assert.False(v());
        Assert.Equal(["prefix", "-v"], fs.Args);
    }

    [Fact]
    public void Parse_DoubleDash_EndsFlags()
    {
        var fs = new FlagSet("Usage: x");
        fs.Bool("v", false, "help");
        fs.Parse(["--", "-v"]);
        Assert.Equal(["-v"], fs.Args);
    }

    [Fact]
    public void Parse_LoneDash_IsAnArgument()
    {
        var fs = new FlagSet("Usage: x");
        fs.Parse(["-"]);
        Assert.Equal(["-"], fs.Args);
    }

    [Fact]
    public void Parse_UnknownFlag_ThrowsWithGoMessage()
    {
        var fs = new FlagSet("Usage: x");
        var e = Assert.Throws<FlagException>(() => fs.Parse(["-nope"]));
        Assert.Equal("flag provided but not defined: -nope", e.Message);
    }

    [Fact]
    public void Parse_MissingValue_Throws()
    {
        var fs = new FlagSet("Usage: x");
        fs.String("name", "", "help");
        Assert.Equal("flag needs an argument: -name", Assert.Throws<FlagException>(() => fs.Parse(["-name"])).Message);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("-help")]
    [InlineData("--help")]
    public void Parse_HelpFlag_ThrowsHelpRequested(string flag) =>
        Assert.Throws<HelpRequestedException>(() => new FlagSet("Usage: x").Parse([flag]));

    [Fact]
    public void Parse_NegativeUnsigned_ThrowsParseError()
    {
        var fs = new FlagSet("Usage: x");
        fs.UInt64("modify-index", 0, "help");
        Assert.Equal("invalid value \"-1\" for flag -modify-index: parse error",
            Assert.Throws<FlagException>(() => fs.Parse(["-modify-index=-1"])).Message);
    }

    [Fact]
    public void Parse_Duration_AcceptsGoSyntax()
    {
        var fs = new FlagSet("Usage: x");
        var timeout = fs.Duration("timeout", TimeSpan.Zero, "help");
        fs.Parse(["-timeout", "1m30s"]);
        Assert.Equal(TimeSpan.FromSeconds(90), timeout());
    }

    [Fact]
    public void Parse_BadDuration_Throws()
    {
        var fs = new FlagSet("Usage: x");
        fs.Duration("timeout", TimeSpan.Zero, "help");
        Assert.Throws<FlagException>(() => fs.Parse(["-timeout=10"]));
    }

    [Fact]
    public void Parse_Alias_SetsTargetAndRecordsTargetName()
    {
        var fs = new FlagSet("Usage: x");
        var dc = fs.String("datacenter", "", "help");
        fs.Alias("dc", "datacenter");
        fs.Parse(["-dc=east"]);
        Assert.Equal("east", dc());
        Assert.Contains("datacenter", fs.Given);
    }

    [Fact]
    public void Parse_RepeatedListFlag_KeepsAllInOrder()
    {
        var fs = new FlagSet("Usage: x");
        var tags = fs.List("tag", "help");
        fs.Parse(["-tag=a", "-tag", "b"]);
        Assert.Equal(["a", "b"], tags());
    }

    [Fact]
    public void Help_HttpGroupFirstSortedAndAliasHidden_ConsulLayout()
    {
        var fs = new FlagSet("\nUsage: mesh thing\n\n  Does a thing.\n");
        fs.Bool("zeta", false, "Z flag.");
        fs.Group = FlagSet.HttpGroup;
        fs.String("http-addr", "", "The `address` of the agent.", "value");
        fs.String("datacenter", "", "Datacenter.", "value");
        fs.Alias("dc", "datacenter");
        fs.Group = FlagSet.CommandGroup;
        fs.UInt64("alpha", 0, "A flag.");

        Assert.Equal("""
            Usage: mesh thing

              Does a thing.

            HTTP API Options

              -datacenter=<value>
                 Datacenter.

              -http-addr=<address>
                 The address of the agent.

            Command Options

              -alpha=<uint>
                 A flag.

              -zeta
                 Z flag.
            """.ReplaceLineEndings("\n"), fs.Help());
    }

    [Fact]
    public void Help_NoFlags_IsJustTheUsage() =>
        Assert.Equal("Usage: mesh keygen", new FlagSet("\nUsage: mesh keygen\n").Help());
}
