# The Kea merge program of sn.sh (its `kea_pl` function runs it with `perl -e`). It reaches the
# service node inside the script, as the shell variable KEA_PL: it must hold no single quote.
use strict; use warnings; use JSON::PP; use IO::Socket::UNIX; use Socket qw(SOCK_STREAM);
sub slurp { my $f = shift; open(my $h, "<", $f) or die "cannot read $f: $!\n"; local $/; my $t = <$h>; close $h; return defined $t ? $t : ""; }
sub strip_comments {
  my $t = shift; my $o = ""; my $i = 0; my $n = length $t;
  while ($i < $n) {
    my $c = substr($t, $i, 1);
    if ($c eq "\"") {
      my $j = $i + 1;
      while ($j < $n) { my $d = substr($t, $j, 1); if ($d eq "\\") { $j += 2; next } last if $d eq "\""; $j++ }
      $o .= substr($t, $i, $j - $i + 1); $i = $j + 1; next;
    }
    if ($c eq "#" || substr($t, $i, 2) eq "//") { my $j = index($t, "\n", $i); $j = $n if $j < 0; $i = $j; next }
    if (substr($t, $i, 2) eq "/*") { my $j = index($t, "*/", $i + 2); $i = $j < 0 ? $n : $j + 2; next }
    $o .= $c; $i++;
  }
  return $o;
}
sub config { my $f = shift; my $t = slurp($f); die "$f uses <?include?>, which baton does not merge\n" if $t =~ /<\?include/;
  my $c = eval { JSON::PP->new->decode(strip_comments($t)) }; die "cannot parse $f: $@" unless $c; die "$f has no Dhcp4 object\n" unless ref $c->{Dhcp4} eq "HASH"; return $c; }
sub ip2n { my @o = split /\./, shift; return undef unless @o == 4; return ($o[0] << 24) | ($o[1] << 16) | ($o[2] << 8) | $o[3]; }
sub in_subnet { my ($ip, $cidr) = @_; my ($net, $len) = split m{/}, $cidr; my ($x, $y) = (ip2n($ip), ip2n($net));
  return 0 unless defined $x && defined $y && defined $len; my $m = $len == 0 ? 0 : (0xFFFFFFFF << (32 - $len)) & 0xFFFFFFFF; return ($x & $m) == ($y & $m); }
my $mode = shift @ARGV;
if ($mode eq "merge") {
  my ($conf, $keysf, $addf, $out) = @ARGV;
  my $c = config($conf); my $d4 = $c->{Dhcp4};
  my %key = map { lc($_) => 1 } split " ", slurp($keysf);
  my $add = slurp($addf); $add = $add eq "" ? [] : JSON::PP->new->decode($add);
  my @subnets = @{ $d4->{subnet4} || [] };
  push @subnets, @{ $_->{subnet4} || [] } for @{ $d4->{"shared-networks"} || [] };
  my $keep = sub { my $r = shift; for my $f ("hostname", "hw-address", "ip-address") { return 0 if defined $r->{$f} && $key{lc $r->{$f}} } return 1 };
  for my $s (@subnets, $d4) { $s->{reservations} = [ grep { $keep->($_) } @{ $s->{reservations} } ] if ref $s->{reservations} eq "ARRAY"; }
  for my $r (@$add) {
    my ($s) = grep { defined $_->{subnet} && in_subnet($r->{"ip-address"}, $_->{subnet}) } @subnets;
    die "no subnet4 of $conf holds " . $r->{"ip-address"} . " (for " . $r->{hostname} . ")\n" unless $s;
    push @{ $s->{reservations} }, $r;
  }
  open(my $h, ">", $out) or die "cannot write $out: $!\n";
  print $h JSON::PP->new->canonical->pretty->encode($c); close $h or die "cannot write $out: $!\n";
} elsif ($mode eq "socket") {
  my $cs = config($ARGV[0])->{Dhcp4};
  my $s = $cs->{"control-socket"} || (ref $cs->{"control-sockets"} eq "ARRAY" ? (grep { ($_->{"socket-type"} || "") eq "unix" } @{ $cs->{"control-sockets"} })[0] : undef);
  print $s->{"socket-name"}, "\n" if $s && $s->{"socket-name"};
} elsif ($mode eq "command") {
  my ($path, $cmd) = @ARGV;
  local $SIG{ALRM} = sub { die "no answer from $path\n" }; alarm 20;
  my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "cannot connect to $path: $!\n";
  print $s encode_json({ command => $cmd }); local $/; my $r = <$s>; $r = "" unless defined $r;
  my $v = eval { decode_json($r) }; $v = $v->[0] if ref $v eq "ARRAY";
  die "$cmd: " . ($v && $v->{text} ? $v->{text} : $r) . "\n" unless $v && defined $v->{result} && $v->{result} == 0;
}
